"""Every console string in English and Traditional Chinese (Hong Kong usage), and the language switch.

One catalogue, key -> (English, 繁體中文). Messages from the services are English; an error code listed
here (`err.<code>`) is shown in the reader's language instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

Lang = Literal["en", "zh-Hant"]
LANGS: tuple[Lang, ...] = ("en", "zh-Hant")
LANG_NAMES: dict[Lang, str] = {"en": "English", "zh-Hant": "繁體中文"}

CATALOGUE: dict[str, tuple[str, str]] = {
    "app.name": ("Parley console", "Parley 控制台"),
    # navigation
    "nav.knowledge": ("Knowledge", "知識庫"),
    "nav.agent": ("Agent", "AI 助理"),
    "nav.inbox": ("Inbox", "收件匣"),
    "nav.contacts": ("Contacts", "聯絡人"),
    "nav.tickets": ("Tickets", "工單"),
    "nav.broadcasts": ("Broadcasts", "群發訊息"),
    "nav.channels": ("Channels", "渠道"),
    "nav.evals": ("Evals", "評估"),
    "nav.team": ("Team", "團隊"),
    "nav.menu": ("Menu", "選單"),
    "nav.password": ("Change password", "更改密碼"),
    "nav.sign_out": ("Sign out", "登出"),
    "nav.signed_in_as": ("Signed in as {email} ({role})", "已登入：{email}（{role}）"),
    "coming.title": ("{section} is coming", "{section}即將推出"),
    "coming.body": (
        "This page is not built yet. The same work can be done through the /v1 API meanwhile.",
        "此頁面尚未完成。在此期間，可透過 /v1 API 進行相同操作。",
    ),
    # roles
    "role.admin": ("Admin", "管理員"),
    "role.agent": ("Agent", "客服人員"),
    "role.qa": ("QA", "品質保證"),
    # sign-in
    "sign_in.title": ("Sign in", "登入"),
    "sign_in.email": ("E-mail", "電郵"),
    "sign_in.password": ("Password", "密碼"),
    "sign_in.submit": ("Sign in", "登入"),
    "sign_in.wrong": ("Wrong e-mail address or password.", "電郵或密碼錯誤。"),
    "sign_in.throttled": (
        "Too many failed sign-ins. Try again in {minutes} min.",
        "登入失敗次數過多，請於 {minutes} 分鐘後再試。",
    ),
    "sign_in.signed_out": ("You have signed out.", "您已登出。"),
    # invitation
    "invite.title": ("Join {tenant}", "加入 {tenant}"),
    "invite.intro": (
        "You are invited as {role}. Choose a password to finish.",
        "您獲邀成為{role}。請設定密碼以完成。",
    ),
    "invite.name": ("Your name", "您的名稱"),
    "invite.submit": ("Create my account", "建立帳戶"),
    "invite.gone": (
        "This invitation link is not valid: it was used, replaced or has expired. Ask your admin for a new one.",
        "此邀請連結無效：已被使用、已被取代或已過期。請向管理員索取新連結。",
    ),
    # passwords
    "password.title": ("Change password", "更改密碼"),
    "password.current": ("Current password", "目前密碼"),
    "password.new": ("New password", "新密碼"),
    "password.confirm": ("Repeat the new password", "再次輸入新密碼"),
    "password.hint": ("At least 10 characters.", "最少 10 個字元。"),
    "password.submit": ("Change password", "更改密碼"),
    "password.mismatch": ("The two new passwords differ.", "兩次輸入的新密碼不一致。"),
    "notice.password_changed": (
        "Password changed. Your other sessions were signed out.",
        "密碼已更改，您在其他裝置的登入已被登出。",
    ),
    # team
    "team.title": ("Team", "團隊"),
    "team.users": ("Users", "用戶"),
    "team.email": ("E-mail", "電郵"),
    "team.name": ("Name", "名稱"),
    "team.role": ("Role", "角色"),
    "team.actions": ("Actions", "操作"),
    "team.save_role": ("Save role", "儲存角色"),
    "team.remove": ("Remove", "移除"),
    "team.remove_confirm": (
        "Remove this user? They are signed out at once.",
        "確定移除此用戶？對方會即時被登出。",
    ),
    "team.you": ("you", "您"),
    "team.invite": ("Invite someone", "邀請成員"),
    "team.invite_submit": ("Create invitation link", "建立邀請連結"),
    "team.invited": (
        "Send this link to {email}. It works once, until {expires}; it is shown only now.",
        "請把此連結傳送給 {email}。連結只可使用一次，有效至 {expires}；只會在此顯示一次。",
    ),
    "team.pending": ("Open invitations", "待接受的邀請"),
    "team.expires": ("Expires", "到期"),
    "team.revoke": ("Revoke", "撤銷"),
    "notice.role_changed": ("Role changed.", "角色已更改。"),
    "notice.user_removed": ("User removed.", "用戶已移除。"),
    "notice.invitation_revoked": ("Invitation revoked.", "邀請已撤銷。"),
    "team.not_self": ("You cannot remove yourself.", "您不能移除自己。"),
    # knowledge
    "knowledge.title": ("Knowledge", "知識庫"),
    "knowledge.limits": (
        "{count} of {max_sources} sources · {used} of {max_bytes} used · PDFs up to {max_pages} pages",
        "已用 {count} / {max_sources} 個來源 · 已用 {used} / {max_bytes} · PDF 最多 {max_pages} 頁",
    ),
    "knowledge.name": ("Source", "來源"),
    "knowledge.status": ("Status", "狀態"),
    "knowledge.chunks": ("Chunks", "段落"),
    "knowledge.pages": ("Pages", "頁數"),
    "knowledge.size": ("Size", "大小"),
    "knowledge.updated": ("Updated", "更新時間"),
    "knowledge.quarantined": (
        "{count} passage(s) kept out of the index: they carry instructions (see GET /v1/knowledge/sources).",
        "{count} 段內容含有指令，未納入索引（見 GET /v1/knowledge/sources）。",
    ),
    "knowledge.none": (
        "No knowledge yet: upload a file or add a web page.",
        "尚未有知識：請上載檔案或加入網頁。",
    ),
    "status.queued": ("Queued", "排隊中"),
    "status.indexing": ("Indexing", "索引中"),
    "status.ready": ("Ready", "就緒"),
    "status.failed": ("Failed", "失敗"),
    "knowledge.upload": ("Upload files", "上載檔案"),
    "knowledge.upload_hint": (
        "PDF, XLSX, CSV, TXT or Markdown; several at once, or drop them here.",
        "PDF、XLSX、CSV、TXT 或 Markdown；可一次選取多個，或拖放到此處。",
    ),
    "knowledge.upload_submit": ("Upload", "上載"),
    "knowledge.remote": ("Add a web page or Google file", "加入網頁或 Google 檔案"),
    "knowledge.kind.url": ("Web page (URL)", "網頁（網址）"),
    "knowledge.kind.google_doc": ("Google Doc id", "Google 文件 ID"),
    "knowledge.kind.google_sheet": ("Google Sheet id", "Google 試算表 ID"),
    "knowledge.remote_submit": ("Add", "加入"),
    "knowledge.sync": ("Re-sync", "重新同步"),
    "knowledge.replace": ("Replace", "取代"),
    "knowledge.delete": ("Delete", "刪除"),
    "knowledge.delete_confirm": ("Delete this source and its passages?", "確定刪除此來源及其段落？"),
    "knowledge.search": ("Search the knowledge", "搜尋知識庫"),
    "knowledge.search_submit": ("Search", "搜尋"),
    "knowledge.score": ("score {score}", "分數 {score}"),
    "knowledge.no_hits": ("Nothing in the knowledge matches.", "知識庫中沒有相符內容。"),
    "knowledge.uploaded": ("{count} file(s) queued for indexing.", "已有 {count} 個檔案排隊等候索引。"),
    "notice.uploaded": ("Queued for indexing.", "已排隊等候索引。"),
    "notice.added": ("Added; it is being fetched.", "已加入，正在擷取。"),
    "notice.deleted": ("Source deleted.", "來源已刪除。"),
    "notice.syncing": ("Queued to be fetched and indexed again.", "已排隊重新擷取及索引。"),
    "knowledge.no_file": ("Choose at least one file.", "請至少選擇一個檔案。"),
    # errors
    "err.title": ("Something is not right", "出現問題"),
    "err.back": ("Back to the console", "返回控制台"),
    "err.forbidden": ("Your role cannot open this page.", "您的角色無權開啟此頁面。"),
    "err.not_found": ("Not found.", "找不到。"),
    "err.csrf": (
        "This form has expired or did not come from this console. Reload the page and try again.",
        "此表單已過期或並非來自此控制台。請重新載入頁面後再試。",
    ),
    "err.required": ("Required.", "必填。"),
    "err.invalid_email": ("Not a valid e-mail address.", "電郵地址無效。"),
    "err.email_taken": ("This e-mail address already has a Parley account.", "此電郵地址已有 Parley 帳戶。"),
    "err.weak_password": (
        "At least 10 characters, and not the e-mail address.",
        "最少 10 個字元，且不可與電郵地址相同。",
    ),
    "err.wrong_password": ("Not your current password.", "目前密碼不正確。"),
    "err.same_password": ("Must differ from the current password.", "必須與目前密碼不同。"),
    "err.last_admin": (
        "The team needs an admin: make another user admin first.",
        "團隊必須有管理員：請先把另一位用戶設為管理員。",
    ),
    "err.unsupported_file_type": ("Unsupported file type.", "不支援的檔案類型。"),
    "err.size_limit": ("Over the size limit.", "超出容量上限。"),
    "err.source_limit": (
        "The source limit is reached: delete one first.",
        "已達來源數量上限：請先刪除一個。",
    ),
    "err.page_limit": ("Too many pages.", "頁數過多。"),
    "err.empty_file": ("The file is empty.", "檔案是空的。"),
    "err.invalid_url": ("Not a URL that can be fetched.", "無法擷取此網址。"),
    "err.google_not_configured": (
        "Google sources need a service account (see README).",
        "Google 來源需要服務帳戶（見 README）。",
    ),
    "err.query_too_long": ("At most 2,000 characters.", "最多 2,000 個字元。"),
    # agent (settings and playground)
    "agent.title": ("Agent", "AI 助理"),
    "agent.settings": ("Settings", "設定"),
    "agent.invalid": ("Some values are not valid; nothing was saved.", "部分內容無效，未有儲存任何變更。"),
    "agent.persona": ("Voice", "語氣與風格"),
    "agent.tone": ("Tone", "語氣"),
    "agent.tone_hint": (
        "professional, friendly, casual, or your own words",
        "professional、friendly、casual，或自行描述",
    ),
    "agent.response_length": ("Response length", "回覆長度"),
    "agent.length.brief": ("Brief", "簡短"),
    "agent.length.moderate": ("Moderate", "適中"),
    "agent.length.detailed": ("Detailed", "詳細"),
    "agent.objectives": ("Objectives", "目標"),
    "agent.one_per_line": ("One per line.", "每行一項。"),
    "agent.languages": ("Languages", "語言"),
    "agent.languages_hint": (
        "None ticked: the agent answers in the customer's language.",
        "全不選：以客戶所用的語言回覆。",
    ),
    "agent.lang.en": ("English", "英文"),
    "agent.lang.zh": ("Traditional Chinese", "繁體中文"),
    "agent.guardrails": ("Guardrails", "防護規則"),
    "agent.guardrails_hint": (
        "Topics the agent declines, with the message the customer gets instead.",
        "AI 助理會拒絕回答的話題，以及客戶會收到的回覆。",
    ),
    "agent.add_guardrail": ("Add a guardrail", "新增防護規則"),
    "agent.topic": ("Topic", "話題"),
    "agent.keywords": ("Keywords", "關鍵字"),
    "agent.decline_message": ("Message to the customer", "給客戶的訊息"),
    "agent.remove": ("Remove", "移除"),
    "agent.custom_answers": ("Custom answers", "自訂答案"),
    "agent.custom_answers_hint": (
        "Questions whose answer you fix: the agent gives it word for word.",
        "由你指定答案的問題：AI 助理會逐字回覆。",
    ),
    "agent.add_answer": ("Add a custom answer", "新增自訂答案"),
    "agent.question": ("Question", "問題"),
    "agent.answer": ("Answer", "答案"),
    "agent.handoff_rules": ("Handoff to a person", "轉交真人"),
    "agent.handoff_keywords": ("Phrases that hand off at once", "即時轉交真人的字句"),
    "agent.handoff_keywords_hint": (
        "One per line; the usual ways of asking for a person are known already.",
        "每行一項；常見的要求真人說法已經內置。",
    ),
    "agent.on_complaint": ("Hand off a complaint", "收到投訴時轉交"),
    "agent.on_low_confidence": ("Hand off when the agent cannot answer", "無法回答時轉交"),
    "agent.max_failed_answers": (
        "Unanswered questions in a row before handing off",
        "連續未能回答多少次後轉交",
    ),
    "agent.team": ("Team", "團隊"),
    "agent.complaint_team": ("Team for complaints", "處理投訴的團隊"),
    "agent.optional": ("Optional.", "選填。"),
    "agent.can_return": (
        "The customer can ask for the bot back while waiting",
        "客戶等候期間可要求返回機械人",
    ),
    "agent.return_keywords": ("Phrases that bring the bot back", "返回機械人的字句"),
    "agent.routes": ("Routes", "分流規則"),
    "agent.routes_hint": (
        "Send a handoff to a team when all the tests of a route hold; the first matching route wins.",
        "符合某規則的所有條件時，轉交指定團隊；以第一條符合的規則為準。",
    ),
    "agent.add_route": ("Add a route", "新增分流規則"),
    "agent.intent": ("Intent", "意圖"),
    "agent.any_intent": ("Any", "任何"),
    "agent.intent.complaint": ("Complaint", "投訴"),
    "agent.intent.sales": ("Sales", "銷售"),
    "agent.intent.billing": ("Billing", "帳單"),
    "agent.intent.refund": ("Refund", "退款"),
    "agent.vip_attribute": ("VIP attribute (true on the contact)", "VIP 屬性（聯絡人上為 true）"),
    "agent.min_lead_score": ("Minimum lead score (0-100)", "最低潛在客戶評分（0-100）"),
    "agent.welcome": ("Welcome message", "歡迎訊息"),
    "agent.welcome_hint": (
        "Sent when a customer follows the account or opens its chat; leave both empty for none.",
        "客戶關注帳戶或開啟對話時發送；兩欄留空則不發送。",
    ),
    "agent.welcome_en": ("In English", "英文"),
    "agent.welcome_zh": ("In Traditional Chinese", "繁體中文"),
    "agent.playground": ("Playground", "試用區"),
    "agent.playground_hint": (
        "Chat with the agent as a customer would, with the settings saved on the left.",
        "以客戶身份與 AI 助理對話，使用已儲存的設定。",
    ),
    "agent.no_messages": ("Ask the agent something to start.", "向 AI 助理提問以開始對話。"),
    "agent.from_customer": ("You", "你"),
    "agent.from_agent": ("Agent", "AI 助理"),
    "agent.sources": ("Sources ({count})", "來源（{count}）"),
    "agent.actions": ("Actions ({count})", "操作（{count}）"),
    "agent.handoff": ("Handed off to a person", "已轉交真人"),
    "agent.person_owns": (
        "A person owns this conversation now: the agent stays silent. Start a new conversation.",
        "此對話已由真人接手，AI 助理不再回覆。請開始新對話。",
    ),
    "agent.correction": ("Correction (optional)", "更正（選填）"),
    "agent.rated_up": ("You rated this reply good.", "你評此回覆為好。"),
    "agent.rated_down": ("You rated this reply bad.", "你評此回覆為差。"),
    "agent.rate_up": ("Good reply", "好的回覆"),
    "agent.rate_down": ("Bad reply", "差的回覆"),
    "agent.message": ("Message", "訊息"),
    "agent.send": ("Send", "發送"),
    "agent.new_conversation": ("New conversation", "新對話"),
    "notice.agent_saved": ("Settings saved.", "設定已儲存。"),
    "notice.agent_rated": (
        "Rating saved: it feeds the evals.",
        "評分已儲存，將用於評估。",
    ),
    # common
    "common.save": ("Save", "儲存"),
    "common.language": ("Language", "語言"),
    # inbox
    "inbox.title": ("Inbox", "收件匣"),
    "inbox.views": ("Views", "檢視"),
    "inbox.state.open": ("Open (team)", "處理中（團隊）"),
    "inbox.state.waiting": ("Waiting for a person", "等候真人"),
    "inbox.state.mine": ("Mine", "我的"),
    "inbox.state.bot": ("With the bot", "AI 處理中"),
    "inbox.state.resolved": ("Resolved", "已解決"),
    "inbox.state.all": ("All", "全部"),
    "inbox.status.bot": ("Bot", "AI 助理"),
    "inbox.status.pending_human": ("Waiting for a person", "等候真人"),
    "inbox.status.human": ("With a person", "真人處理中"),
    "inbox.status.resolved": ("Resolved", "已解決"),
    "inbox.channel": ("Channel", "渠道"),
    "inbox.team": ("Team", "團隊"),
    "inbox.any": ("Any", "全部"),
    "inbox.filter": ("Filter", "篩選"),
    "inbox.count": ("{shown} of {total} conversations", "共 {total} 個對話，顯示 {shown} 個"),
    "inbox.none": ("No conversations here.", "這裏沒有對話。"),
    "inbox.contact": ("Contact", "聯絡人"),
    "inbox.last": ("Last message", "最新訊息"),
    "inbox.time": ("Time", "時間"),
    "inbox.state_col": ("State", "狀態"),
    "inbox.visitor": ("Visitor {ref}", "訪客 {ref}"),
    "inbox.external_id": ("Channel ID", "渠道 ID"),
    "inbox.role.customer": ("Customer", "客戶"),
    "inbox.role.agent": ("Bot", "AI 助理"),
    "inbox.role.human": ("Staff", "職員"),
    "inbox.role.note": ("Internal note", "內部備註"),
    "inbox.assigned_to": ("Assigned to {name}", "已指派給 {name}"),
    "inbox.team_is": ("Team: {team}", "團隊：{team}"),
    "inbox.reason": ("Why: {reason}", "原因：{reason}"),
    "inbox.back": ("All conversations", "所有對話"),
    "inbox.conversation_with": ("{name} on {channel}", "{name}（{channel}）"),
    "inbox.take": ("Take it", "接手"),
    "inbox.resolve": ("Resolve", "標示為已解決"),
    "inbox.reopen": ("Reopen", "重新開啟"),
    "inbox.give_back": ("Give back to the bot", "交還 AI 助理"),
    "inbox.give_back_confirm": (
        "Give this conversation back to the bot? It will answer the customer again.",
        "將此對話交還 AI 助理？AI 助理會再次回覆客戶。",
    ),
    "inbox.assign_to": ("Assign to", "指派給"),
    "inbox.assign": ("Assign", "指派"),
    "inbox.note_by": ("Internal note by {name}", "{name} 的內部備註"),
    "inbox.no_messages": ("No messages yet.", "暫時未有訊息。"),
    "inbox.window_none": (
        "This channel lets you reply at any time.",
        "此渠道可隨時回覆。",
    ),
    "inbox.window_open": (
        "Reply window open until {until} ({hours} h after the customer's last message).",
        "回覆時限開放至 {until}（客戶最後訊息後 {hours} 小時）。",
    ),
    "inbox.window_closed": (
        "Reply window closed since {since}: free-form replies only within {hours} h of the customer's last "
        "message.",
        "回覆時限已於 {since} 結束：只可於客戶最後訊息後 {hours} 小時內自由回覆。",
    ),
    "inbox.window_never": (
        "Reply window closed: the customer has not written on this channel.",
        "回覆時限已結束：客戶未曾在此渠道發訊息。",
    ),
    "inbox.reply": ("Reply", "回覆"),
    "inbox.reply_label": ("Your reply to the customer", "給客戶的回覆"),
    "inbox.send": ("Send", "發送"),
    "inbox.smart_reply": ("Smart Reply", "智能回覆"),
    "inbox.suggestions": ("Suggestions (click one to use it)", "建議回覆（按一下即可使用）"),
    "inbox.no_suggestions": ("No suggestions for this conversation.", "此對話沒有建議回覆。"),
    "inbox.writing": ("Writing Assistant", "寫作助手"),
    "inbox.write.improve": ("Improve", "潤飾"),
    "inbox.write.shorter": ("Shorter", "縮短"),
    "inbox.write.en": ("To English", "譯成英文"),
    "inbox.write.zh-Hant": ("To Chinese", "譯成中文"),
    "inbox.credits": (
        "{remaining} of {allowance} credits left this month",
        "本月尚餘 {remaining}/{allowance} 點",
    ),
    "inbox.credits_unlimited": ("Unlimited credits ({plan} plan)", "點數無限（{plan} 方案）"),
    "inbox.add_note": ("Internal note", "內部備註"),
    "inbox.note_label": ("Note for the team (never sent to the customer)", "給團隊的備註（不會發送給客戶）"),
    "inbox.save_note": ("Add note", "新增備註"),
    "inbox.read_only": (
        "Your role can read conversations but not act on them.",
        "您的角色只可閱讀對話，不可操作。",
    ),
    "inbox.phone": ("Phone", "電話"),
    "inbox.email": ("E-mail", "電郵"),
    "inbox.company": ("Company", "公司"),
    "inbox.lead_score": ("Lead score", "潛在客戶評分"),
    "inbox.tags": ("Tags", "標籤"),
    "inbox.tickets": ("Open tickets", "未完成工單"),
    "inbox.no_tickets": ("No open tickets.", "沒有未完成工單。"),
    "inbox.recent": ("Recent activity", "最近動態"),
    "inbox.nothing_yet": ("Nothing yet.", "暫時沒有。"),
    "err.window_closed": ("The channel's reply window is closed.", "此渠道的回覆時限已結束。"),
    "err.credits_exhausted": ("No credits left this month.", "本月點數已用完。"),
    "err.no_assignee": ("Choose an agent or admin of this team.", "請選擇此團隊的客服人員或管理員。"),
}


def translate(lang: Lang, key: str, **values: Any) -> str:
    """The text for the key in the language (the key itself when missing, which a test forbids)."""
    pair = CATALOGUE.get(key)
    text = key if pair is None else pair[0 if lang == "en" else 1]
    return text.format(**values) if values else text


def translator(lang: Lang) -> Callable[..., str]:
    return lambda key, **values: translate(lang, key, **values)


def pick(cookie: str | None, accept_language: str | None) -> Lang:
    """The language from the switch's cookie, else the browser's first preference (Chinese or English)."""
    if cookie in LANGS:
        return cookie
    first = (accept_language or "").split(",")[0].strip().lower()
    return "zh-Hant" if first.startswith("zh") else "en"
