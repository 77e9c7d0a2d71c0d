"""Every drug spelling the simulator writes, and the names that must stay unmapped.

The simulated ``treatments.drug`` column is written the way clinical records spell drugs:
generic names, brand names, abbreviations, mixed case. :data:`DRUG_SPELLINGS` lists every spelling
the simulator can emit with the generic name it stands for (the truth tables use the generic name),
so the vocabulary can be checked against it: each spelling must map to its generic name, and each
name in :data:`UNMAPPED_DRUG_NAMES` must stay unmapped (it is not myeloma therapy).
"""

from __future__ import annotations

#: generic name -> spellings written to ``treatments.drug`` (the first is the generic name itself).
DRUG_SPELLINGS: dict[str, tuple[str, ...]] = {
    # anti-myeloma drugs
    "lenalidomide": ("lenalidomide", "Lenalidomide", "Revlimid", "REVLIMID", "len"),
    "pomalidomide": ("pomalidomide", "Pomalidomide", "Pomalyst", "Imnovid", "pom"),
    "bortezomib": ("bortezomib", "Bortezomib", "Velcade", "VELCADE", "bortez"),
    "carfilzomib": ("carfilzomib", "Carfilzomib", "Kyprolis", "KYPROLIS"),
    "ixazomib": ("ixazomib", "Ninlaro", "NINLARO"),
    "daratumumab": ("daratumumab", "Daratumumab", "Darzalex", "dara", "Darzalex Faspro"),
    "isatuximab": ("isatuximab", "Sarclisa", "isa"),
    "elotuzumab": ("elotuzumab", "Empliciti", "elo"),
    "selinexor": ("selinexor", "Xpovio"),
    "belantamab mafodotin": ("belantamab mafodotin", "Blenrep", "belantamab"),
    "teclistamab": ("teclistamab", "Tecvayli"),
    "elranatamab": ("elranatamab", "Elrexfio"),
    "talquetamab": ("talquetamab", "Talvey"),
    "idecabtagene vicleucel": ("idecabtagene vicleucel", "ide-cel", "Abecma"),
    "ciltacabtagene autoleucel": ("ciltacabtagene autoleucel", "cilta-cel", "Carvykti"),
    "thalidomide": ("thalidomide", "Thalomid", "thal"),
    "cyclophosphamide": ("cyclophosphamide", "Cyclophosphamide", "Cytoxan"),
    "melphalan": ("melphalan", "Melphalan", "Alkeran"),
    "fludarabine": ("fludarabine", "Fludarabine", "Fludara"),
    # steroids
    "dexamethasone": ("dexamethasone", "Dexamethasone", "dex", "DEX", "Decadron"),
    "prednisone": ("prednisone", "Prednisone"),
    # procedures
    "autologous stem cell transplant": (
        "autologous stem cell transplant",
        "Autologous stem cell transplant",
    ),
    "leukapheresis": ("leukapheresis", "Leukapheresis"),
    # supportive care
    "zoledronic acid": ("zoledronic acid", "Zometa", "zoledronate"),
    "denosumab": ("denosumab", "Xgeva"),
    "acyclovir": ("acyclovir", "aciclovir", "Zovirax"),
    "filgrastim": ("filgrastim", "Neupogen", "G-CSF"),
}

#: Names written to ``treatments.drug`` that are not myeloma therapy and must not be mapped.
UNMAPPED_DRUG_NAMES: tuple[str, ...] = (
    "curcumin",
    "study medication (blinded)",
    "herbal tea",
    "vitamin D3 drops",
)

#: Generic names of the supportive drugs the simulator writes (never anti-myeloma therapy).
SUPPORTIVE: tuple[str, ...] = ("zoledronic acid", "denosumab", "acyclovir", "filgrastim")

#: Steroids: listed in a line's drugs, never open or close a line.
STEROIDS: tuple[str, ...] = ("dexamethasone", "prednisone")

#: Procedures: flags of a line, not drugs.
PROCEDURES: tuple[str, ...] = ("autologous stem cell transplant", "leukapheresis")

#: Generic names in a fixed order; a drug's code in the simulator is its index here.
GENERIC_NAMES: tuple[str, ...] = tuple(DRUG_SPELLINGS)
DRUG_CODE: dict[str, int] = {name: i for i, name in enumerate(GENERIC_NAMES)}

#: Relative weights of the spellings (the generic name is the most common).
SPELLING_WEIGHTS: dict[str, tuple[float, ...]] = {
    name: tuple([4.0] + [1.0] * (len(spellings) - 1)) for name, spellings in DRUG_SPELLINGS.items()
}
