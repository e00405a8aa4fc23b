"""Google Docs and Google Sheets by id, through google-api-python-client and a service account.

The discovery documents ship inside google-api-python-client (static_discovery), so building a
service needs no network; only the API calls themselves go out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from knowledge.loaders import Extracted, Part, UnreadableSource
from knowledge.loaders.budget import Budget
from knowledge.loaders.spreadsheet import rows_to_parts

SCOPES = [
    "https://www.googleapis.com/auth/documents.readonly",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
]
HEADING_LEVELS = {"TITLE": 1, "HEADING_1": 1, "HEADING_2": 2, "HEADING_3": 3, "HEADING_4": 4, "HEADING_5": 5}


class GoogleServices(Protocol):
    def build(self, api: str, version: str) -> Any: ...

    @property
    def account(self) -> str: ...


class ServiceAccountServices:
    """Real Google APIs with a service-account JSON key."""

    def __init__(self, key_file: Path, api_base: str | None = None) -> None:
        from google.oauth2 import service_account

        try:
            info = json.loads(key_file.read_text())
            self._credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        except (OSError, ValueError, KeyError) as exc:
            raise UnreadableSource(
                f"the Google service-account file {key_file} is unreadable: {exc}"
            ) from exc
        self._email = str(info.get("client_email", "the service account"))
        self._api_base = api_base

    @property
    def account(self) -> str:
        return self._email

    def build(self, api: str, version: str) -> Any:
        from googleapiclient.discovery import build

        options = {"api_endpoint": self._api_base} if self._api_base else None
        return build(
            api,
            version,
            credentials=self._credentials,
            cache_discovery=False,
            static_discovery=True,
            client_options=options,
        )


class HttpServices:
    """Google APIs over a given httplib2-compatible `http` (googleapiclient's HttpMock in tests)."""

    def __init__(
        self, http_factory: Callable[[], Any], account: str = "test@example.iam.gserviceaccount.com"
    ):
        self._http_factory = http_factory
        self._account = account

    @property
    def account(self) -> str:
        return self._account

    def build(self, api: str, version: str) -> Any:
        from googleapiclient.discovery import build

        return build(api, version, http=self._http_factory(), cache_discovery=False, static_discovery=True)


def _call(request: Any, what: str, account: str) -> Any:
    from googleapiclient.errors import HttpError

    try:
        return request.execute(num_retries=2)
    except HttpError as exc:
        status = getattr(exc.resp, "status", 0)
        if int(status) in (403, 404):
            raise UnreadableSource(
                f"the Google {what} was not found or is not shared with {account} (HTTP {status})"
            ) from exc
        raise UnreadableSource(f"Google answered HTTP {status} for the {what}") from exc


def _text_of(elements: list[dict[str, Any]]) -> str:
    return "".join(el.get("textRun", {}).get("content", "") for el in elements)


def _structural_to_markdown(content: list[dict[str, Any]], lines: list[str]) -> None:
    for element in content:
        if "paragraph" in element:
            paragraph = element["paragraph"]
            text = _text_of(paragraph.get("elements", [])).strip()
            if not text:
                continue
            style = paragraph.get("paragraphStyle", {}).get("namedStyleType", "NORMAL_TEXT")
            level = HEADING_LEVELS.get(style)
            if level:
                lines.append("#" * level + " " + text)
            elif "bullet" in paragraph:
                lines.append("- " + text)
            else:
                lines.append(text)
            lines.append("")
        elif "table" in element:
            for row in element["table"].get("tableRows", []):
                cells: list[str] = []
                for cell in row.get("tableCells", []):
                    inner: list[str] = []
                    _structural_to_markdown(cell.get("content", []), inner)
                    cells.append(" ".join(line for line in inner if line))
                lines.append(" | ".join(cells))
            lines.append("")


def _read_shape(what: str, read: Callable[[], Extracted]) -> Extracted:
    """Google's answers are JSON of a documented shape; one of another shape (an API change, a proxy in
    between) fails the source with a reason instead of an AttributeError from deep in the walk."""
    try:
        extracted = read()
    except UnreadableSource:
        raise
    except (AttributeError, TypeError, KeyError, ValueError, IndexError, RecursionError) as exc:
        raise UnreadableSource(
            f"Google answered the {what} in a shape that could not be read ({type(exc).__name__})"
        ) from exc
    if not isinstance(extracted.title, str):
        extracted.title = None
    for part in extracted.parts:
        part.title = str(part.title)
    return extracted


def load_google_doc(services: GoogleServices, document_id: str) -> Extracted:
    return _read_shape("document", lambda: _google_doc(services, document_id))


def load_google_sheet(services: GoogleServices, spreadsheet_id: str) -> Extracted:
    return _read_shape("spreadsheet", lambda: _google_sheet(services, spreadsheet_id))


def _google_doc(services: GoogleServices, document_id: str) -> Extracted:
    docs = services.build("docs", "v1")
    document = _call(docs.documents().get(documentId=document_id), "document", services.account)
    lines: list[str] = []
    tabs = document.get("tabs") or []
    if tabs:
        for tab in tabs:
            _structural_to_markdown(tab.get("documentTab", {}).get("body", {}).get("content", []), lines)
    else:
        _structural_to_markdown(document.get("body", {}).get("content", []), lines)
    return Extracted(parts=[Part(text="\n".join(lines))], title=document.get("title")).require_text(
        "the Google document"
    )


def _google_sheet(services: GoogleServices, spreadsheet_id: str) -> Extracted:
    sheets = services.build("sheets", "v4")
    meta = _call(
        sheets.spreadsheets().get(
            spreadsheetId=spreadsheet_id, fields="properties.title,sheets.properties.title"
        ),
        "spreadsheet",
        services.account,
    )
    titles = [s["properties"]["title"] for s in meta.get("sheets", [])]
    if not titles:
        raise UnreadableSource("the Google spreadsheet has no sheets")
    values = _call(
        sheets.spreadsheets()
        .values()
        .batchGet(spreadsheetId=spreadsheet_id, ranges=[f"'{t}'" for t in titles]),
        "spreadsheet",
        services.account,
    )
    parts: list[Part] = []
    budget = Budget("the Google spreadsheet")
    for title, value_range in zip(titles, values.get("valueRanges", []), strict=False):
        parts.extend(rows_to_parts(title, value_range.get("values", []), budget))
    return Extracted(parts=parts, title=meta.get("properties", {}).get("title")).require_text(
        "the Google spreadsheet"
    )
