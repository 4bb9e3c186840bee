from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from thread.admin_tools import AuditedAdmin, ReadOnlyInline, action_reason
from thread.errors import DomainError

from . import services
from .choices import RevisionStatus
from .models import (
    CrossReference,
    Part,
    PartRevision,
    PartUnitConversion,
    Plant,
    PlantPart,
    RevisionEffectivity,
    SystemUnitCode,
    UnitAlias,
    UnitOfMeasure,
)


class AliasInline(ReadOnlyInline):
    model = UnitAlias
    fields = ["alias"]


@admin.register(UnitOfMeasure)
class UnitAdmin(AuditedAdmin):
    list_display = ["code", "name", "dimension", "factor"]
    list_filter = ["dimension"]
    search_fields = ["code", "name"]
    inlines = [AliasInline]


class ThroughServiceDeletes:
    """Deletes, one or many, through the service so history records who and why (the reason
    from the action bar, else a default naming the person)."""

    def delete_model(self, request, obj):
        self.delete_through_service(obj, request.user,
                                    action_reason(request, f"Deleted in the admin by {request.user}"))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(UnitAlias)
class UnitAliasAdmin(ThroughServiceDeletes, AuditedAdmin):
    list_display = ["alias", "unit"]
    list_filter = ["unit"]
    search_fields = ["alias", "unit__code", "unit__name"]
    list_select_related = ["unit"]

    def save_with_reason(self, request, obj, form, change, reason):
        if change:
            services.unit_alias_update(unit_alias=obj, alias=obj.alias, unit=obj.unit,
                                       actor=request.user, reason=reason)
        else:
            obj.pk = services.unit_alias_create(alias=obj.alias, unit=obj.unit,
                                                actor=request.user, reason=reason).pk

    def delete_through_service(self, obj, actor, reason):
        services.unit_alias_delete(unit_alias=obj, actor=actor, reason=reason)


@admin.register(SystemUnitCode)
class SystemUnitCodeAdmin(ThroughServiceDeletes, AuditedAdmin):
    list_display = ["system", "code", "unit", "outbound"]
    list_filter = ["system", "outbound"]
    search_fields = ["code", "unit__code", "system__name"]
    list_select_related = ["system", "unit"]

    def save_with_reason(self, request, obj, form, change, reason):
        if change:
            services.system_unit_code_update(system_unit_code=obj, code=obj.code, unit=obj.unit,
                                             outbound=obj.outbound, actor=request.user,
                                             reason=reason)
        else:
            obj.pk = services.system_unit_code_create(
                system=obj.system, code=obj.code, unit=obj.unit, outbound=obj.outbound,
                actor=request.user, reason=reason).pk

    def delete_through_service(self, obj, actor, reason):
        services.system_unit_code_delete(system_unit_code=obj, actor=actor, reason=reason)


class RevisionInline(ReadOnlyInline):
    model = PartRevision
    fields = ["label", "status", "released_at", "released_by", "description"]

    def get_queryset(self, request):
        # Each row shows str(revision), which names its part.
        return super().get_queryset(request).select_related("part", "released_by")


class ConversionInline(ReadOnlyInline):
    model = PartUnitConversion
    fields = ["from_unit", "to_unit", "factor"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("part", "from_unit", "to_unit")


@admin.register(Part)
class PartAdmin(AuditedAdmin):
    list_display = ["number", "name", "category", "base_unit", "make_or_buy", "lifecycle_state"]
    list_filter = ["lifecycle_state", "make_or_buy", "category", "base_unit"]
    search_fields = ["number", "name"]
    list_select_related = ["base_unit"]
    inlines = [RevisionInline, ConversionInline]

    def get_readonly_fields(self, request, obj=None):
        # The base unit anchors every BOM quantity of the part: fixed once created.
        return ["number", "base_unit"] if obj else []

    def save_with_reason(self, request, obj, form, change, reason):
        fields = {f: form.cleaned_data[f] for f in services.PART_FIELDS if f in form.cleaned_data}
        if change:
            services.part_update(part=obj, actor=request.user, reason=reason, **fields)
        else:
            created = services.part_create(number=obj.number, name=obj.name,
                                           base_unit=obj.base_unit, actor=request.user,
                                           reason=reason,
                                           **{k: v for k, v in fields.items() if k != "name"})
            obj.pk = created.pk


@admin.register(PartRevision)
class PartRevisionAdmin(AuditedAdmin):
    list_display = ["part", "label", "status", "released_at", "released_by"]
    list_filter = ["status"]
    search_fields = ["part__number", "label"]
    list_select_related = ["part", "released_by"]
    autocomplete_fields = ["part"]
    actions = ["release_selected"]

    @admin.display(description="effectivity")
    def effectivity_shown(self, obj) -> str:
        effectivity = RevisionEffectivity.objects.filter(revision=obj).first() if obj.pk else None
        return effectivity.describe() if effectivity else "from its release (no change order set one)"

    @admin.display(description="mBOMs")
    def mboms_shown(self, obj) -> str:
        """Links to bom's pages (by URL name: the catalog does not import bom)."""
        if obj.pk is None or not obj.is_frozen:
            return "generated when it is released (at the plants that make it)"
        generate = urlencode({"part": obj.part.number, "revision": obj.label})
        return format_html('<a href="{}?{}">Generate mBOM now</a> · <a href="{}?{}">what its '
                           'release did at each plant</a>',
                           reverse("admin:bom_mbom_generate"), generate,
                           reverse("admin:bom_releasegeneration_changelist"),
                           urlencode({"q": obj.part.number}))

    def get_readonly_fields(self, request, obj=None):
        always = ["status", "released_at", "released_by", "effectivity_shown", "mboms_shown"]
        if obj is None:
            return always
        if obj.is_frozen:  # a released revision is shown, never edited
            return ["part", "label", "description", "attributes", *always]
        return ["part", "label", *always]

    def save_with_reason(self, request, obj, form, change, reason):
        if change:
            services.revision_update(revision=obj, actor=request.user, reason=reason,
                                     description=obj.description, attributes=obj.attributes)
        else:
            created = services.revision_create(part=obj.part, label=obj.label,
                                               actor=request.user, reason=reason,
                                               description=obj.description,
                                               attributes=obj.attributes)
            obj.pk = created.pk

    @admin.action(description="Release selected draft revisions", permissions=["release"])
    def release_selected(self, request, queryset):
        reason = action_reason(request, f"Released in the admin by {request.user}")
        for revision in queryset.filter(status=RevisionStatus.DRAFT):
            try:
                services.revision_release(revision=revision, actor=request.user, reason=reason)
            except DomainError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                # What the release did to the mBOMs is listed by bom (its hook ran in the release).
                url = reverse("admin:bom_releasegeneration_changelist")
                self.message_user(request, format_html(
                    '{} released; <a href="{}?{}">its mBOMs at each plant</a>.', revision, url,
                    urlencode({"q": revision.part.number})), messages.SUCCESS)

    def has_release_permission(self, request):
        return request.user.has_perm("catalog.release_partrevision")


@admin.register(PartUnitConversion)
class PartUnitConversionAdmin(AuditedAdmin):
    list_display = ["part", "from_unit", "factor", "to_unit"]
    autocomplete_fields = ["part"]
    list_select_related = ["part", "from_unit", "to_unit"]


@admin.register(Plant)
class PlantAdmin(AuditedAdmin):
    list_display = ["code", "name", "time_zone", "erp_system", "mes_system", "work_order_format",
                    "work_order_timing"]
    list_select_related = ["erp_system", "mes_system"]
    search_fields = ["code", "name"]


@admin.register(PlantPart)
class PlantPartAdmin(AuditedAdmin):
    list_display = ["part", "plant", "active", "make_or_buy", "unit"]
    list_filter = ["plant", "active", "make_or_buy"]
    search_fields = ["part__number"]
    autocomplete_fields = ["part"]
    list_select_related = ["part", "plant", "unit"]


@admin.register(CrossReference)
class CrossReferenceAdmin(AuditedAdmin):
    list_display = ["system", "kind", "external_id", "plant", "content_type", "object_id"]
    list_filter = ["system", "kind", "plant"]
    search_fields = ["external_id"]
    list_select_related = ["system", "plant", "content_type"]
