from django.db import migrations

from keja.platform.db.operations import PostgresOnlySQL, same_agency_fk


class Migration(migrations.Migration):
    dependencies = [
        ("leases", "0001_initial"),
        ("properties", "0002_same_agency"),
        ("tenants", "0001_initial"),
    ]
    operations = [
        PostgresOnlySQL(
            sql="CREATE EXTENSION IF NOT EXISTS btree_gist", reverse_sql=migrations.RunSQL.noop
        ),
        # D4: two active leases never overlap on one unit (end date inclusive, NULL = open-ended).
        PostgresOnlySQL(
            sql=(
                "ALTER TABLE leases_lease ADD CONSTRAINT lease_no_overlap EXCLUDE USING gist ("
                "unit_id WITH =, daterange(start_date, end_date, '[]') WITH &&) "
                "WHERE (status = 'active')"
            ),
            reverse_sql="ALTER TABLE leases_lease DROP CONSTRAINT lease_no_overlap",
        ),
        same_agency_fk("leases_lease", "unit_id", "properties_unit"),
        same_agency_fk("leases_lease", "tenant_id", "tenants_tenant"),
    ]
