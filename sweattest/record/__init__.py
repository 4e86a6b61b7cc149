"""The store and what it keeps: runs, events, audit chain, users, signatures."""
