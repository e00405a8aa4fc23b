"""The evals suite: datasets, runner, metrics, agreement with ratings, report, gate; `python -m evals`.

ragas must run offline: its telemetry is switched off here, before any module of the package can
import it (ragas reads the variable once and caches it), and Hugging Face libraries it pulls in are
told not to reach the hub.
"""

import os

os.environ["RAGAS_DO_NOT_TRACK"] = "true"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
