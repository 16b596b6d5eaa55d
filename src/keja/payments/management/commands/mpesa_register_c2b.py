"""``keja mpesa_register_c2b <agency-slug>``: register our paybill validation and confirmation
URLs with Daraja for the agency's shortcode (once per shortcode, or after the URLs change)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from keja.agencies.models import Agency
from keja.kernel.errors import DomainError
from keja.payments.services.mpesa import c2b_urls_register
from keja.platform.scoping import Actor


class Command(BaseCommand):
    help = "Register the M-Pesa C2B (paybill) callback URLs of an agency's shortcode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("agency", help="The agency's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        agency = Agency.objects.filter(slug=options["agency"]).first()
        if agency is None:
            raise CommandError(f"No agency with slug {options['agency']!r}.")
        try:
            answer = c2b_urls_register(actor=Actor.system(agency.pk, label="mpesa_register_c2b"))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Registered for {agency.mpesa_shortcode}: {answer}")
