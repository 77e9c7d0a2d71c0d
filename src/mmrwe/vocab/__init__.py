"""vocab stage: the drug vocabulary, user drug maps, drug mapping and regimen names.

Tables and rules are documented in ``docs/vocabulary.md``.
"""

from mmrwe.vocab.drug_map import read_drug_map
from mmrwe.vocab.mapping import map_drugs
from mmrwe.vocab.normalize import normalize_drug, normalize_drug_expr
from mmrwe.vocab.regimens import name_maintenance, name_regimen, name_regimens
from mmrwe.vocab.tables import DRUG_CLASSES, ROLES, Vocabulary, load_vocabulary

__all__ = [
    "DRUG_CLASSES",
    "ROLES",
    "Vocabulary",
    "load_vocabulary",
    "map_drugs",
    "name_maintenance",
    "name_regimen",
    "name_regimens",
    "normalize_drug",
    "normalize_drug_expr",
    "read_drug_map",
]
