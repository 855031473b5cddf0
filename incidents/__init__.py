"""Detection policy, the incident state machine, approvals and recovery execution."""
