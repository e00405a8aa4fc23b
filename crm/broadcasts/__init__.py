"""Broadcasts: campaigns a business sends to segments of its contacts (crm owns what and to whom; the
sending itself, which needs the channel adapters, is channels/broadcast_sender.py)."""
