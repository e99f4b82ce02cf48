"""Steps shared by several processes: each is a part of a workflow, not a workflow."""
