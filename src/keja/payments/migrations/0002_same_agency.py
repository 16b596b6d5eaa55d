from django.db import migrations

from keja.platform.db.operations import same_agency_fk


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("leases", "0002_no_overlap_same_agency")]
    operations = [same_agency_fk("payments_payment", "lease_id", "leases_lease")]
