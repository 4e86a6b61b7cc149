"""The LIS interface: HL7 v2 orders in (MLLP listener, order folder) into the worklist, results out through
the durable outbox (MLLP sender with acknowledgements and retries). Documented in docs/lis.md."""
