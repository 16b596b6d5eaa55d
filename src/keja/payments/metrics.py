"""Prometheus metrics of M-Pesa collection (P5.1, P6.1). Labels are bounded: kinds, outcomes,
operations and a fixed set of result codes (anything else is "other")."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CALLBACKS = Counter(
    "keja_mpesa_callbacks_total",
    "M-Pesa callbacks by kind and outcome: received, processed, duplicate, failed, malformed, "
    "rejected (wrong source address).",
    ["kind", "outcome"],
)
CALLBACK_SECONDS = Histogram(
    "keja_mpesa_callback_processing_seconds",
    "Time from receiving a callback to answering it (stored and processed).",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CALLBACK_RETRIES = Counter(
    "keja_mpesa_callback_retries_total",
    "Reprocessing attempts of stored callbacks after a failure on our side, by result.",
    ["result"],
)
STK_RESULTS = Counter(
    "keja_mpesa_stk_results_total",
    "STK push outcomes by result code (from callbacks and status queries).",
    ["result_code", "source"],
)
STK_PUSHES = Counter(
    "keja_mpesa_stk_pushes_total",
    "STK pushes initiated, by outcome (accepted, rejected, unavailable, uncertain).",
    ["outcome"],
)
RECONCILE = Counter(
    "keja_mpesa_reconcile_total",
    "Reconciliation of pending STK pushes, by result (completed, failed, cancelled, expired, "
    "pending, error).",
    ["result"],
)
DARAJA_REQUESTS = Counter(
    "keja_mpesa_daraja_requests_total",
    "HTTP attempts towards Daraja by operation and outcome (ok, rejected, unavailable, "
    "timeout, throttled, circuit_open).",
    ["operation", "outcome"],
)
DARAJA_SECONDS = Histogram(
    "keja_mpesa_daraja_request_seconds",
    "Duration of one HTTP attempt towards Daraja.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0),
)
DARAJA_RETRIES = Counter(
    "keja_mpesa_daraja_retries_total",
    "Retries towards Daraja after a retryable failure, by operation and reason.",
    ["operation", "reason"],
)
TOKEN_FETCHES = Counter(
    "keja_mpesa_token_fetches_total",
    "OAuth tokens fetched from Daraja, by reason (missing, invalid).",
    ["reason"],
)
BREAKER_TRANSITIONS = Counter(
    "keja_mpesa_breaker_transitions_total",
    "State changes of the Daraja circuit breaker seen by this process, by new state.",
    ["state"],
)
