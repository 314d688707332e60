"""Running cells: the plan, the runner and its worker processes, lanes, the console and the bench."""
