"""What protects the accounts: bounded password hashing, the shared login throttle, the
client address behind trusted proxies, and the password policy."""
