"""HTTP routes of the server; each declares the action it performs (see ``guard``)."""
