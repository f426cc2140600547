"""planerka-sync: run a team's recurring planning meeting inside Jira or Trello."""

__version__ = "0.1.0"
