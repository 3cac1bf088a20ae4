"""The one app: tracked accounts, jobs sending them to IM, uploads, the audit trail."""
