"""ISA-95 B2MML V0701 (namespace http://www.mesa.org/xml/B2MML) for work orders: plain data in,
bytes or dicts out, validated against MESA's official schemas vendored in `schemas/`.

- `document`: the plain-data contract (WorkOrderDocument, Operation, Material, …).
- `xml`: the XML renderers (Process-, Change- and CancelOperationsSchedule, ProcessMaterialDefinition,
  AcknowledgeOperationsSchedule) and the field-to-element mapping; it also re-exports the XML
  side of the modules below, so `connectors.b2mml.xml` is the one import callers need.
- `validate`: validation against the XSD (`validate_xml`, `require_valid`).
- `safe`: parsing untrusted XML (`parse_xml`: no DOCTYPE, no entities, no network).
- `parse`: the readers back into plain data (`parse_operations_schedule`,
  `parse_schedule_message` for any of the three verbs, `parse_acknowledgement`).
- `json_form`: the same documents in MESA's B2MML-JSON, validated against AllSchemas.json.
- `errors`: B2mmlRejected (refused before reading), B2mmlInvalid (breaks the schema).

Nothing here imports Thread or Django (the import-linter contract "connectors-plain").
"""
