"""Broadcasts: campaigns a business sends to segments of its contacts. crm owns what, to whom and each
recipient's sending state (crm/broadcasts/sender.py); the messages go through the channels' outbox
(channels/outbox.py), reached through the Protocols in crm/broadcasts/sending.py."""
