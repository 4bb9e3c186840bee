# Impact flags taken over from the orders app: the model state only (db_table and the history's
# table_name keep the orders_ tables), and the content types move, so every permission granted
# on impact flags (change managers acknowledge and resolve them) stays granted.

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("impactflag", "historicalimpactflag"):
        if not ContentType.objects.filter(app_label="changes", model=model).exists():
            ContentType.objects.filter(app_label="orders", model=model).update(app_label="changes")


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("impactflag", "historicalimpactflag"):
        if not ContentType.objects.filter(app_label="orders", model=model).exists():
            ContentType.objects.filter(app_label="changes", model=model).update(app_label="orders")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('catalog', '0002_revision_effectivity'),
        ('changes', '0002_release_failed_event'),
        ('orders', '0002_impactflag_moves_to_changes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.CreateModel(
                name='HistoricalImpactFlag',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('affected_part', 'Order for the changed part'), ('removed_component', 'Order for a component the change removes'), ('changed_component', 'Order for a component whose quantity changes'), ('parent_assembly', 'Production of an assembly built from the changed part')], max_length=20)),
                    ('summary', models.TextField(help_text='What hit the order, with dates against the effectivity.')),
                    ('details', models.JSONField(blank=True, default=dict)),
                    ('status', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved')], db_index=True, default='open', max_length=12)),
                    ('raised_at', models.DateTimeField()),
                    ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                    ('acknowledge_note', models.TextField(blank=True)),
                    ('resolved_at', models.DateTimeField(blank=True, null=True)),
                    ('resolution_note', models.TextField(blank=True)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.TextField(null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('acknowledged_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('change_order', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='changes.changeorder')),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('part', models.ForeignKey(blank=True, db_constraint=False, help_text='The part on the order through which the change hit it.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.part')),
                    ('production_order', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orders.productionorder')),
                    ('purchase_order', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orders.purchaseorder')),
                    ('raised_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('resolved_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'historical impact flag',
                    'verbose_name_plural': 'historical impact flags',
                    'db_table': 'orders_historicalimpactflag',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='ImpactFlag',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('affected_part', 'Order for the changed part'), ('removed_component', 'Order for a component the change removes'), ('changed_component', 'Order for a component whose quantity changes'), ('parent_assembly', 'Production of an assembly built from the changed part')], max_length=20)),
                    ('summary', models.TextField(help_text='What hit the order, with dates against the effectivity.')),
                    ('details', models.JSONField(blank=True, default=dict)),
                    ('status', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved')], db_index=True, default='open', max_length=12)),
                    ('raised_at', models.DateTimeField()),
                    ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                    ('acknowledge_note', models.TextField(blank=True)),
                    ('resolved_at', models.DateTimeField(blank=True, null=True)),
                    ('resolution_note', models.TextField(blank=True)),
                    ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('change_order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='impact_flags', to='changes.changeorder')),
                    ('part', models.ForeignKey(help_text='The part on the order through which the change hit it.', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.part')),
                    ('production_order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='impact_flags', to='orders.productionorder')),
                    ('purchase_order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='impact_flags', to='orders.purchaseorder')),
                    ('raised_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'impact flag',
                    'db_table': 'orders_impactflag',
                    'ordering': ['-id'],
                    'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('production_order__isnull', True), ('purchase_order__isnull', False)), models.Q(('production_order__isnull', False), ('purchase_order__isnull', True)), _connector='OR'), name='impact_flag_one_order'), models.UniqueConstraint(condition=models.Q(('purchase_order__isnull', False)), fields=('change_order', 'purchase_order'), name='impact_flag_once_per_purchase_order'), models.UniqueConstraint(condition=models.Q(('production_order__isnull', False)), fields=('change_order', 'production_order'), name='impact_flag_once_per_production_order'), models.CheckConstraint(condition=models.Q(('status', 'open'), ('acknowledged_at__isnull', False), _connector='OR'), name='impact_flag_acknowledged_has_time'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'resolved'), _negated=True), ('resolved_at__isnull', False), _connector='OR'), name='impact_flag_resolved_has_time')],
                },
            ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
