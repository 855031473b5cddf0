"""AI diagnosis of incidents: advisory only.

The AI explains an incident the policy opened; it never decides whether an incident exists,
never changes a stage, and when it is unavailable, unsure or wrong-shaped the policy's own
explanation is used (DESIGN §2). ``prompt`` builds what the model sees, ``claude`` calls one
model and validates its answer, ``council`` runs two lenses in parallel, ``engine`` turns the
answers into ``incident.diagnosis``, and ``service`` connects it to the database and the ledger.
"""
