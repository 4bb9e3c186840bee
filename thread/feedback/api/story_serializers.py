"""The thread API's answer, field by field (docs/feedback.md, "The thread page"): read-only
serializers over the story's plain data, so the OpenAPI schema says exactly what comes back."""

from rest_framework import serializers

QUANTITY = {"max_digits": 40, "decimal_places": 6}
MEASURE = {"max_digits": 20, "decimal_places": 6, "allow_null": True}


class Link(serializers.CharField):
    """A path of Thread's admin (or monitor) page of the thing."""


class ThreadEBomLineSerializer(serializers.Serializer):
    find_number = serializers.IntegerField()
    part = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.CharField()
    item_type = serializers.CharField()


class ThreadEBomSnapshotSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    reason = serializers.CharField()
    line_count = serializers.IntegerField()
    link = Link()


class ThreadEBomSerializer(serializers.Serializer):
    snapshot = serializers.IntegerField(allow_null=True, help_text="The snapshot in effect.")
    snapshots = ThreadEBomSnapshotSerializer(many=True)
    lines = ThreadEBomLineSerializer(many=True)


class ThreadApprovalSerializer(serializers.Serializer):
    stage = serializers.CharField()
    round = serializers.IntegerField()
    decision = serializers.CharField()
    approver = serializers.CharField()
    at = serializers.DateTimeField()
    comment = serializers.CharField()


class ThreadChangeOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField(help_text="As it stood at the moment.")
    role = serializers.ChoiceField(choices=["introduces", "replaces"])
    from_revision = serializers.CharField(allow_null=True)
    to_revision = serializers.CharField(allow_null=True)
    released_at = serializers.DateTimeField(allow_null=True)
    approvals = ThreadApprovalSerializer(many=True)
    link = Link()


class ThreadVersionRefSerializer(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True)
    link = Link()


class ThreadRuleSetRefSerializer(ThreadVersionRefSerializer):
    published_at = serializers.DateTimeField()


class ThreadMBomVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    current = serializers.BooleanField(help_text="The plant's current version at the moment.")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    reason = serializers.CharField()
    as_of = serializers.DateField()
    line_count = serializers.IntegerField()
    rule_set_version = serializers.IntegerField()
    rule_set_link = Link()
    link = Link()
    lineage = Link(help_text="Where each line comes from (the mBOM's accountability).")


class ThreadRoutingVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    effective_from = serializers.DateField()
    released_at = serializers.DateTimeField()
    released_by = serializers.CharField()
    reason = serializers.CharField()
    in_effect = serializers.BooleanField()
    link = Link()


class ThreadPlantSerializer(serializers.Serializer):
    plant = serializers.CharField()
    name = serializers.CharField()
    rule_set_version = ThreadRuleSetRefSerializer(allow_null=True)
    mbom_versions = ThreadMBomVersionSerializer(many=True)
    routing_versions = ThreadRoutingVersionSerializer(many=True)


class ThreadMBomRefSerializer(ThreadVersionRefSerializer):
    lineage = Link()


class ThreadWorkOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField(help_text="As it stood at the moment.")
    sent_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    mbom_version = ThreadMBomRefSerializer(allow_null=True)
    rule_set_version = ThreadVersionRefSerializer(allow_null=True)
    routing_version = ThreadVersionRefSerializer(allow_null=True)
    link = Link()


class ThreadProductionOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    plant = serializers.CharField(allow_null=True)
    quantity = serializers.DecimalField(**QUANTITY)
    status = serializers.CharField(help_text="As it stood at the moment.")
    erp_status = serializers.CharField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    mbom_version = ThreadMBomRefSerializer(allow_null=True)
    work_orders = ThreadWorkOrderSerializer(many=True)
    link = Link()


class ThreadMessageSerializer(serializers.Serializer):
    topic = serializers.CharField()
    system = serializers.CharField()
    status = serializers.CharField(help_text="At the moment: delivered, its final status, or "
                                             "pending while on its way.")
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    ordering_key = serializers.CharField()
    link = Link()


class ThreadImpactFlagSerializer(serializers.Serializer):
    change_order = serializers.CharField(allow_null=True)
    kind = serializers.CharField()
    production_order = serializers.CharField(allow_null=True)
    purchase_order_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    summary = serializers.CharField()
    raised_at = serializers.DateTimeField()
    link = Link()


class ThreadDriftFindingSerializer(serializers.Serializer):
    system = serializers.CharField(allow_null=True)
    object = serializers.CharField()
    field = serializers.CharField()
    thread_value = serializers.CharField()
    peer_value = serializers.CharField()
    status = serializers.CharField()
    first_seen_at = serializers.DateTimeField()


class ThreadStoryFiguresSerializer(serializers.Serializer):
    results = serializers.IntegerField()
    good_quantity = serializers.DecimalField(**QUANTITY)
    scrap_quantity = serializers.DecimalField(**QUANTITY)
    first_pass_yield = serializers.DecimalField(**MEASURE)
    run_per_unit_mean = serializers.DecimalField(**MEASURE)
    run_vs_standard = serializers.DecimalField(**MEASURE)
    setup_mean = serializers.DecimalField(**MEASURE)
    quality_events = serializers.IntegerField()


class ThreadDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    first_pass_yield = serializers.DecimalField(**MEASURE)
    run_per_unit_mean = serializers.DecimalField(**MEASURE)
    run_vs_standard = serializers.DecimalField(**MEASURE)
    good_quantity = serializers.DecimalField(**QUANTITY)
    scrap_quantity = serializers.DecimalField(**QUANTITY)


class ThreadOperationSerializer(serializers.Serializer):
    plant = serializers.CharField()
    operation = serializers.CharField(allow_null=True, help_text="Null: quality events with "
                                                                 "no operation.")
    figures = ThreadStoryFiguresSerializer()
    days = ThreadDaySerializer(many=True)


class ThreadParetoSerializer(serializers.Serializer):
    code = serializers.CharField()
    quantity = serializers.DecimalField(**QUANTITY)
    cumulative_share = serializers.DecimalField(max_digits=7, decimal_places=4,
                                                allow_null=True)


class ThreadAlertSerializer(serializers.Serializer):
    kind = serializers.CharField()
    plant = serializers.CharField()
    operation = serializers.CharField()
    defect_code = serializers.CharField()
    measured = serializers.DecimalField(**MEASURE)
    threshold = serializers.DecimalField(**MEASURE)
    detail = serializers.CharField()
    raised_at = serializers.DateTimeField()
    cleared_at = serializers.DateTimeField(allow_null=True)
    link = Link()


class ThreadMeasureChangeSerializer(serializers.Serializer):
    before = serializers.DecimalField(**MEASURE)
    after = serializers.DecimalField(**MEASURE)
    change = serializers.DecimalField(**MEASURE)


class ThreadWindowRefSerializer(serializers.Serializer):
    revision = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


class ThreadChangeEffectSerializer(serializers.Serializer):
    change_order = serializers.CharField()
    plant = serializers.CharField()
    comparable = serializers.BooleanField()
    before = ThreadWindowRefSerializer()
    after = ThreadWindowRefSerializer()
    changes = serializers.DictField(child=ThreadMeasureChangeSerializer(),
                                    help_text="Per measure: before, after and the change.")


class ThreadFeedbackSerializer(serializers.Serializer):
    total = ThreadStoryFiguresSerializer()
    operations = ThreadOperationSerializer(many=True)
    scrap_by_reason = ThreadParetoSerializer(many=True)
    defects = ThreadParetoSerializer(many=True)
    alerts = ThreadAlertSerializer(many=True)
    change_effects = ThreadChangeEffectSerializer(many=True, help_text="Now only (empty at a moment).")


class ThreadTimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="Blank: a system or Thread itself.")
    what = serializers.CharField()
    why = serializers.CharField()
    link = Link()


class ThreadLinksSerializer(serializers.Serializer):
    revision = Link()
    part = Link()


class ThreadSerializer(serializers.Serializer):
    at = serializers.DateTimeField(allow_null=True, help_text="The moment asked for; null: now.")
    part = serializers.CharField()
    name = serializers.CharField()
    revision = serializers.CharField()
    status = serializers.CharField(help_text="The revision's status at the moment.")
    released_at = serializers.DateTimeField(allow_null=True)
    released_by = serializers.CharField()
    description = serializers.CharField()
    links = ThreadLinksSerializer()
    ebom = ThreadEBomSerializer()
    change_orders = ThreadChangeOrderSerializer(many=True)
    plants = ThreadPlantSerializer(many=True)
    production_orders = ThreadProductionOrderSerializer(many=True, help_text="The newest 50.")
    production_order_total = serializers.IntegerField()
    messages = ThreadMessageSerializer(many=True, help_text="The newest 50.")
    message_total = serializers.IntegerField()
    message_statuses = serializers.DictField(child=serializers.IntegerField())
    impact_flags = ThreadImpactFlagSerializer(many=True)
    impact_flag_total = serializers.IntegerField()
    drift_findings = ThreadDriftFindingSerializer(many=True)
    drift_finding_total = serializers.IntegerField()
    feedback = ThreadFeedbackSerializer()
    timeline = ThreadTimelineEntrySerializer(many=True, help_text="Newest first (the newest 200).")


class ThreadQuerySerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="A recorded moment (ISO 8601, e.g. "
                                                         "2026-11-30T12:00Z): the thread as it "
                                                         "stood then. Omitted: now.")
