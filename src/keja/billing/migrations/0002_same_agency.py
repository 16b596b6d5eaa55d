from django.db import migrations

from keja.platform.db.operations import same_agency_fk


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("leases", "0002_no_overlap_same_agency"),
        ("payments", "0002_same_agency"),
    ]
    operations = [
        same_agency_fk("billing_invoice", "lease_id", "leases_lease"),
        same_agency_fk("billing_allocation", "payment_id", "payments_payment"),
        same_agency_fk("billing_allocation", "invoice_id", "billing_invoice"),
        same_agency_fk("billing_creditentry", "lease_id", "leases_lease"),
        same_agency_fk("billing_creditentry", "payment_id", "payments_payment"),
    ]
