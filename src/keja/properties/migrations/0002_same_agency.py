from django.db import migrations

from keja.platform.db.operations import same_agency_fk


class Migration(migrations.Migration):
    dependencies = [("properties", "0001_initial")]
    operations = [same_agency_fk("properties_unit", "property_id", "properties_property")]
