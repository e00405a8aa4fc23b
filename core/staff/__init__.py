"""Staff accounts for the console: users with a role per tenant, invitations, sessions, sign-in throttling."""
