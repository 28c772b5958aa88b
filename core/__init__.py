"""What every app shares and no app owns: domain errors, the API's plumbing, the mechanics of the
explicit state machines, and side effects after commit."""
