"""A WhatsApp `order` message (a customer sending their cart from the business's catalog) read into its
items and a text a person or the agent can answer ("Order: 2 × SKU-1 at HKD 120.00 ...").

Meta sends quantities and prices as numbers or as strings, depending on the client; both are read, and a
value that is neither is kept as given (the text then shows it as it came) rather than losing the item.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_ITEMS = 100  # a cart holds at most 99 products (Meta's limit); more is not an order we should spell out
MAX_AMOUNT = 10**15  # beyond any quantity or price: kept as text, never multiplied out


def order_data(body: dict[str, Any]) -> dict[str, Any]:
    """The order as stored in the message's data: catalog id, the note sent with it, and every item."""
    raw_items = body.get("product_items")
    items = [
        {
            "product_retailer_id": str(item.get("product_retailer_id") or ""),
            "quantity": _number(item.get("quantity")),
            "item_price": _number(item.get("item_price")),
            "currency": str(item.get("currency") or ""),
        }
        for item in (raw_items if isinstance(raw_items, list) else [])[:MAX_ITEMS]
        if isinstance(item, dict)
    ]
    note = body.get("text")
    return {
        "catalog_id": str(body.get("catalog_id") or ""),
        "text": note if isinstance(note, str) else "",
        "items": items,
    }


def order_text(order: dict[str, Any]) -> str:
    """'Order: 2 × SKU-1 at HKD 120.00, 1 × SKU-2 at HKD 35.50 (total HKD 275.50). Note: ...'"""
    lines = [_line(item) for item in order["items"]]
    text = "Order: " + (", ".join(lines) if lines else "no items")
    total = _total(order["items"])
    if total:
        text += f" (total {total})"
    if order["text"].strip():
        text += f". Note: {order['text'].strip()}"
    return text


def _line(item: dict[str, Any]) -> str:
    quantity, price, currency = item["quantity"], item["item_price"], item["currency"]
    count = "?" if quantity is None else quantity
    line = f"{count} × {item['product_retailer_id'] or 'an unnamed product'}"
    if price not in (None, ""):
        line += f" at {currency} {_money(price)}".replace("  ", " ")
    return line


def _total(items: list[dict[str, Any]]) -> str:
    """The order's total when every item has a number for quantity and price in one currency, else ""."""
    currencies = {item["currency"] for item in items}
    if not items or len(currencies) != 1:
        return ""
    try:
        amount = sum(Decimal(str(i["quantity"])) * Decimal(str(i["item_price"])) for i in items)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return f"{currencies.pop()} {_money(amount)}".strip()


def _number(value: Any) -> Any:
    """A quantity or price as a number (from a number or a decimal string); anything else as text, so the
    item is kept and the value shown as it came. Stored as JSON, so never NaN or infinite."""
    if value is None:
        return None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else repr(value))
        except InvalidOperation:
            return str(value)
        if number.is_finite() and abs(number) < MAX_AMOUNT:
            return int(number) if number == number.to_integral_value() else float(number)
    return str(value)


def _money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):.2f}"
    except (InvalidOperation, ValueError):
        return str(value)
