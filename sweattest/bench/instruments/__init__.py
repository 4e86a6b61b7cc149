"""The instruments at one bench: the lab's configuration of them, one small interface per role, a registry
of models, and the bench that opens them with every output off."""
