"""DNS flips: providers (RFC 2136, Route 53, plugins), verification, the dns-flip step."""

from drkit.dns.base import Change, DnsConflict, DnsError, Provider, RecordSet, fqdn

__all__ = ["Change", "DnsConflict", "DnsError", "Provider", "RecordSet", "fqdn"]
