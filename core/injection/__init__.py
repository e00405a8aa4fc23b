"""Prompt-injection detection shared by the agent (customer messages, replies) and knowledge (passages at
ingest): readings of a text that undo encodings (forms.py), cues by what an instruction does (cues.py),
and a scored detector (detector.py)."""

from core.injection.detector import THRESHOLD, InjectionVerdict, detect
from core.injection.forms import Reading, readings

__all__ = ["THRESHOLD", "InjectionVerdict", "Reading", "detect", "readings"]
