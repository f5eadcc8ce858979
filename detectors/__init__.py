"""Online detectors: pure Python, no Kafka or Faust, state as plain JSON."""

from detectors.level import LevelDetector
from detectors.seasonal import SeasonalDetector
from detectors.verdict import Verdict

__all__ = ["LevelDetector", "SeasonalDetector", "Verdict"]
