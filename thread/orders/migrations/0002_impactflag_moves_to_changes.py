# Impact flags moved to the changes app (state only: the tables keep their names and rows;
# changes.0003 takes the model over and moves its content type, so permissions stay granted).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='impactflag',
                name='acknowledged_by',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='change_order',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='part',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='production_order',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='purchase_order',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='raised_by',
            ),
            migrations.RemoveField(
                model_name='impactflag',
                name='resolved_by',
            ),
            migrations.DeleteModel(
                name='HistoricalImpactFlag',
            ),
            migrations.DeleteModel(
                name='ImpactFlag',
            ),
            ],
            database_operations=[],
        ),
    ]
