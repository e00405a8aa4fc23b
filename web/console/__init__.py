"""The console at /console: server-rendered pages for admins, human agents and QA (see README, Console)."""
