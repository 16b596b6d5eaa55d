"""``keja apikey``: create, list and revoke an agency's API keys from the command line.

    keja apikey create --agency <slug> --name "Accounting sync" --scope read-write
    keja apikey list --agency <slug>
    keja apikey revoke --agency <slug> --prefix <prefix>

``create`` prints the new key alone on its last line (``kj_<prefix>_<secret>``), so a script can
take it with ``| tail -n 1``; it is shown only this once and stored hashed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keja.agencies.models import Agency, ApiKey
from keja.agencies.selectors import apikeys_list
from keja.agencies.services import apikey_create, apikey_revoke
from keja.kernel.errors import DomainError
from keja.platform.scoping import Actor


class Command(BaseCommand):
    help = "Manage an agency's API keys (create prints the secret once, on the last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it.")
        create.add_argument("--agency", required=True, help="The agency's slug.")
        create.add_argument("--name", required=True, help="What the key is for (1-80 chars).")
        create.add_argument(
            "--scope", choices=[s.value for s in ApiKey.Scope], default=ApiKey.Scope.READ
        )
        listing = sub.add_parser("list", help="List the agency's keys (never their secrets).")
        listing.add_argument("--agency", required=True)
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("--agency", required=True)
        revoke.add_argument("--prefix", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"No agency with the slug {options['agency']!r}.")
        actor = Actor.system(agency.pk, label="keja apikey")
        try:
            getattr(self, f"_{options['action']}")(agency, actor, options)
        except DomainError as exc:
            raise CommandError(exc.detail) from exc

    def _create(self, agency: Agency, actor: Actor, options: dict[str, Any]) -> None:
        key, raw = apikey_create(actor=actor, name=options["name"], scope=options["scope"])
        self.stdout.write(
            f"Created {key.scope} key {key.name!r} (prefix {key.prefix}) for {agency.slug}. "
            "It is shown once; store it now:"
        )
        self.stdout.write(raw)

    def _list(self, agency: Agency, actor: Actor, options: dict[str, Any]) -> None:
        for key in apikeys_list(scope=actor):
            state = "active" if key.is_active else f"revoked {key.revoked_at:%Y-%m-%d}"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}Z" if key.last_used_at else "never used"
            self.stdout.write(f"{key.prefix}  {key.scope:<10}  {state:<18}  {used:<18}  {key.name}")

    def _revoke(self, agency: Agency, actor: Actor, options: dict[str, Any]) -> None:
        key = apikeys_list(scope=actor).filter(prefix=options["prefix"]).first()
        if key is None:
            raise CommandError(f"No key with the prefix {options['prefix']!r} in {agency.slug}.")
        apikey_revoke(actor=actor, key_id=key.pk)
        self.stdout.write(f"Revoked {key.name!r} ({key.prefix}).")
