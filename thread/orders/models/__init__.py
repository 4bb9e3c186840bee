"""The orders app's models, in three rooms: the ERP's order mirrors, the routings the shop floor
follows, and the work orders Thread sends to the MES."""

from .mirrors import QUANTITY, ErpPollMark, ProductionOrder, PurchaseOrder, PurchaseOrderLine
from .routings import Routing, RoutingOperation, RoutingVersion, WorkCenter
from .work_orders import ShiftBatch, WorkOrder, WorkOrderMaterial, WorkOrderOperation

__all__ = ["QUANTITY", "ErpPollMark", "ProductionOrder", "PurchaseOrder", "PurchaseOrderLine", "Routing",
           "RoutingOperation", "RoutingVersion", "ShiftBatch", "WorkCenter", "WorkOrder", "WorkOrderMaterial",
           "WorkOrderOperation"]
