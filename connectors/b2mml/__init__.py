"""ISA-95 B2MML V0701 (namespace http://www.mesa.org/xml/B2MML) for work orders: plain data in,
bytes or dicts out, validated against MESA's official schemas vendored in `schemas/`.

- `document`: the plain-data contract (WorkOrderDocument, Operation, Material, …).
- `xml`: the XML renderers (ProcessOperationsSchedule, ProcessMaterialDefinition,
  AcknowledgeOperationsSchedule) and the field-to-element mapping.
- `validate`: validation against the XSD (`validate_xml`, `require_valid`).
- `parse`: safe parsing (`safe.parse_xml`) and the readers back into plain data.
- `json_form`: the same documents in MESA's B2MML-JSON, validated against AllSchemas.json.
- `errors`: B2mmlRejected (refused before reading), B2mmlInvalid (breaks the schema).

Nothing here imports Thread or Django (the import-linter contract "connectors-plain").
"""
