"""The patient-level chain of mmrwe, run partition by partition (``docs/architecture.md``).

source (:func:`mmrwe.io.read_cohort`) → partitions of whole patients
(:func:`cohort_partitions`) → on each, :func:`analyse_partition`: lines → response →
endpoints → population, stopped after the stage a command needs → patient-level tables written
partition by partition, the rest combined (:func:`analyse_cohort`) → summaries → report
(:func:`mmrwe.study.run_study`).

``mmrwe lines``, ``mmrwe response`` and ``mmrwe run`` are this one chain stopped after
``lines``, ``response`` and ``population``. An external engine (e.g. Spark ``applyInArrow``
on groups of patients) calls :func:`analyse_partition` on Arrow tables of whole patients.
"""

from mmrwe.pipeline.driver import (
    DEFAULT_PARTITION,
    DEFAULT_WORKERS,
    AnalysedPopulation,
    analyse_cohort,
    analyse_partitions,
    check_partition_size,
    cohort_partitions,
    prefetched,
    sum_attrition,
    sum_unmapped,
)
from mmrwe.pipeline.kept import KeptTables
from mmrwe.pipeline.partition import (
    PATIENT_TABLES,
    STAGES,
    PartitionResult,
    Stage,
    analyse_partition,
    partition_cohort,
    progression_source,
    tables_of,
)

__all__ = [
    "DEFAULT_PARTITION",
    "DEFAULT_WORKERS",
    "PATIENT_TABLES",
    "STAGES",
    "AnalysedPopulation",
    "KeptTables",
    "PartitionResult",
    "Stage",
    "analyse_cohort",
    "analyse_partition",
    "analyse_partitions",
    "check_partition_size",
    "cohort_partitions",
    "partition_cohort",
    "prefetched",
    "progression_source",
    "sum_attrition",
    "sum_unmapped",
    "tables_of",
]
