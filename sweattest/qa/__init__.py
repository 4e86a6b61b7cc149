"""QA analytics over the run store, on pandas: run lists, QNS rates, Levey-Jennings charts, monthly summary."""

from sweattest.qa.qns import QNS_TARGETS, qns_rate
from sweattest.qa.runs import RUN_COLUMNS, runs_frame, write_frame
from sweattest.qa.summary import month_summary

__all__ = ["QNS_TARGETS", "RUN_COLUMNS", "month_summary", "qns_rate", "runs_frame", "write_frame"]
