"""Study definitions and the whole analysis (``mmrwe run``).

- :class:`StudySettings` (``[study]``) and :class:`Population` (``[population]``): the study
  definition, validated with every problem named by field;
- :func:`apply_data_cutoff`: the cohort as known on the follow-up cut-off date;
- :func:`select_population` → ``analysis_lines`` and attrition;
- :func:`analyse_cohort` (from :mod:`mmrwe.pipeline`): every patient-level stage, partition by
  partition;
- :func:`run_study`: a cohort directory in, a run directory out.
"""

from mmrwe.pipeline import analyse_cohort
from mmrwe.study.cutoff import apply_data_cutoff
from mmrwe.study.definition import Population, StudySettings
from mmrwe.study.run import RunResult, run_study
from mmrwe.study.select import select_population

__all__ = [
    "Population",
    "RunResult",
    "StudySettings",
    "analyse_cohort",
    "apply_data_cutoff",
    "run_study",
    "select_population",
]
