"""The words an instruction to the assistant is made of, by what they do, in English and Chinese
(Traditional, Simplified and written Cantonese). Each cue is one regex alternation over lower-cased text;
English alternatives have word boundaries, Chinese ones none. Features (detector.py) combine cues: a cue
alone is rarely an attack ("ignore", "instructions"), a verb aimed at the assistant's own rules is.
"""

from __future__ import annotations


def words(*alternatives: str) -> str:
    return r"\b(?:" + "|".join(alternatives) + r")\b"


def chars(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


def either(*patterns: str) -> str:
    return "(?:" + "|".join(patterns) + ")"


# fmt: off
# --- set aside: verbs that drop rules -------------------------------------------------------------------
OVERRIDE = either(
    words(
        r"ignor(?:e|ing)", r"disregard(?:ing)?", r"forget(?:ting)?", r"overrid(?:e|ing)", "overrule",
        "bypass", "skip", "put aside", "leave aside", "look past", "drop", "discard", "abandon", "set aside", "pay no (?:attention|heed|mind) to",
        "throw out", r"stop (?:following|obeying|using)", r"no longer (?:follow|obey|bound by)",
        r"(?:do not|don'?t) (?:follow|obey)", "get rid of", "break", "violate", "turn off", "disable",
        "deactivate", "suspend", "lift", "remove", "cancel", "neglect", "circumvent", "escape", "scrap",
        "ditch",
    ),
    chars(
        "忽略", "忽視", "忽视", "無視", "无视", "忘記", "忘记", "忘掉", "唔好理", "唔使理", "唔洗理", "咪理", "不要理", "不用理", "別理", "别理",
        "唔好跟", "不要跟", "唔使再跟", "不用再跟", "不必再跟", "不要遵守", "不必遵守", "唔好遵守", "無需遵守", "无需遵守", "跳過", "跳过", "放棄", "放弃",
        "推翻", "覆蓋", "覆盖", "違反", "违反", "拋開", "抛开", "撇開", "撇开", "擺脫", "摆脱", "繞過", "绕过",
    ),
)

# --- what the assistant was given ----------------------------------------------------------------------
RULES = either(
    words(
        r"instructions?", r"rules?", r"prompts?", r"guidelines?", r"directives?", r"guardrails?",
        r"restrictions?", r"constraints?", "programming", "configuration", "config",
        r"system (?:message|prompt)s?", r"filters?", r"orders", r"commands?", "setup", "boundaries", "limits",
        "limitations", "training", "ethics", "safeguards",
    ),
    chars(
        "指示", "指令", "規則", "规则", "規矩", "规矩", "提示", "設定", "设定", "限制", "守則", "守则", "命令", "規定", "规定", "約束", "约束",
        "框框",
    ),
)
EVERYTHING_BEFORE = either(
    words(
        r"how you (?:were|are|have been) (?:configured|set up|programmed|instructed|prompted)",
        r"(?:message|text|words|prompt)s? (?:that came|written|sent|given to you) before (?:the |my |this )?"
        r"(?:first )?(?:customer |user )?(?:message|conversation|chat)",
        r"before (?:the|my) first (?:customer |user )?message",
        r"(?:everything|all|anything|the (?:text|words|messages?|lines?|content))"
        r" (?:above|before (?:this|my|that)|written before|said before|prior|so far|up to here)",
        r"(?:what|everything) you (?:were|have been|got) (?:told|given|instructed|programmed|set up)",
        r"(?:were|was) you (?:told|instructed|given|programmed)",
        r"you (?:were|are|have been) (?:told|instructed|programmed) (?:to|not to|never to)",
        r"(?:what(?:ever)?|everything|anything) (?:the |your )?(?:developers?|creators?|owners?|company|admins?|"
        r"operators?|they|someone|anyone) (?:told|taught|instructed|asked|gave) you",
    ),
    chars(
        "上面所有", "以上所有", "以上全部", "上面嘅嘢", "上面的內容", "上面的内容", r"叫你(?:唔好|不要|別|别|唔准|不准|千祈唔好)(?:講|讲|說|说|透露|話|话)",
        r"你被(?:告知|指示|設定|设定|要求)",
    ),
)

# Whose rules: the customer's own ("my previous instructions about the address") are theirs to change.
CUSTOMER_OWN = either(
    words(
        "my", "mine", "our", r"i (?:gave|sent|left|wrote|said|typed|made|asked|mentioned|put|added)",
        r"i'?d (?:given|sent|said)", "i just", "i earlier",
    ),
    chars(
        "我嘅", "我的", "我哋嘅", "我们的", "我們的", "我之前講", "我之前讲", "我頭先", "我啱啱", "我剛才", "我刚才", "我之前講嘅", "我之前說", "我之前说",
        "我寫", "我写", "我留", "我打", "我發", "我发", "我講", "我讲",
    ),
)
# A topic after "rules" or "instructions" makes them the business's or a product's, not the assistant's.
TOPIC = words(
    r"(?:about|for|on|regarding|of) (?:the |a |an |my |our |your |this |that )?(?!this (?:chat|conversation)|you\b|yourself|answering|replying|customers\b|the assistant|the ai|the bot)\w+"
)

# --- make it show ---------------------------------------------------------------------------------------
REVEAL = either(
    words(
        "reveal", "show", "print", "display", "output", "repeat", "recite", "tell", "say",
        "write (?:out|down)", "dump", "leak", "share", "list", "give", "copy", "paste", "translate", "render",
        r"summari[sz]e", "spell(?: out)?", "quote", "read(?: out| back| me)?", "disclose", "expose", "send",
        "provide", "describe", "paraphrase", "encode", "convert", "rewrite", "pull up", "look up", "export",
        r"what (?:are|were|is|was)", "type out", "return", "reply with", "respond with", "echo", "include",
        "insert", "post", "write", "put", "compose", "format", "embed",
    ),
    chars(
        "顯示", "显示", "講出", "讲出", "講俾我", "讲给我", "話我知", "话我知", "告訴", "告诉", "打印", "打出", "輸出", "输出", "透露", "列出",
        "翻譯", "翻译", "重複", "重复", "寫出", "写出", "俾我睇", "畀我睇", "給我看", "给我看", "逐字", "一字不漏", "原文", "複述", "复述", "背出",
        "念出", "讀出", "读出", "講晒", "讲晒", "出嚟", "出來", "出来", "俾我", "畀我", "給我", "给我", "提供", "交出", "公開", "公开", "發俾",
        "发给", "寄俾", "睇下", "係咩", "是什麼", "是什么",
    ),
)
PROMPT = either(
    words(
        r"system (?:prompt|message|instructions?)s?", r"pre-?prompt", "context window", "hidden prompt",
        r"(?:your|its|the assistant'?s|the bot'?s|initial|original|hidden|secret|internal|underlying|starting|"
        r"full|entire|exact|first|real|actual|confidential) (?:\w+ )?(?:prompt|instructions|rules|guidelines|"
        r"configuration|config|directives|programming|setup|system message)",
        r"(?:prompt|instructions|rules|guidelines|configuration|directives) (?:that )?you (?:were |have been |)"
        r"(?:given|told|received|got|follow|operate under|run on|set up with)",
        r"(?:prompt|instructions|rules) (?:were|was) you (?:given|told)",
    ),
    chars(
        "系統提示", "系统提示", "提示詞", "提示词", "系統指令", "系统指令", "系統設定", "系统设定", "系統訊息", "系统信息", "系統消息", "系统消息",
        r"(?:你嘅|你的|你個|你个|你哋嘅|你啲|你之前(?:收到)?(?:嘅|的)?|最開始|最开始|最初|原本|原始|隱藏|隐藏|內部|内部"
        r"|開發者|开发者|收到(?:咗|了)?(?:咩|嘅|的)?)\S{0,2}?(?:指示|指令|設定|设定|規則|规则|提示|命令|規矩)",
    ),
)

# --- secrets ------------------------------------------------------------------------------------------
KEYS = either(
    words(
        r"api[ _-]?(?:keys?|tokens?|secrets?)", r"access[ _-]?(?:tokens?|keys?)",
        r"auth(?:entication)?[ _-]?tokens?", r"bearer tokens?", r"secret[ _-]?keys?", r"private[ _-]?keys?",
        r"(?:stored |saved )?credentials", r"connection strings?", r"env(?:ironment)? variables", r"\.env",
        "ssh keys?", r"session (?:tokens?|cookies?)", r"webhook secrets?", r"signing secrets?",
        r"(?:openai|anthropic|stripe|whatsapp|twilio|google|aws|llm) (?:api )?(?:keys?|tokens?|secrets?)",
        r"tokens? (?:do |that )?you use (?:to|for)",
    ),
    chars("金鑰", "密鑰", "密钥", "憑證", "凭证", "令牌"),
)
PASSWORD = either(
    words(r"pass(?:word|code|phrase)s?", "login details", "login", "pwd"),
    chars("密碼", "密码", "口令", "登入資料", "登录信息"),
)
SYSTEM_OWNER = either(
    words(
        "admin", "administrator", "root", "staff", "employee", "backend", "back-end", "back office",
        "dashboard", "server", "database", "db", "system", "platform", "your", "the shop'?s", "this shop",
        "configured", "internal", "every(?:one'?s)?", "all", r"other (?:users|customers|people)'?s?",
        "owner'?s?", "manager'?s?",
    ),
    chars(
        "後台", "后台", "管理員", "管理员", "系統", "系统", "伺服器", "服务器", "資料庫", "数据库", "你哋", "你们", "員工", "员工", "所有",
        "admin", "root",
    ),
)
OWN_ACCOUNT = either(
    words(
        "my", r"i (?:forgot|lost|can'?t remember)", "reset", "change", "forgot", "forgotten", "wi-?fi",
        "guest", "update",
    ),
    chars(
        "我嘅", "我的", "我個", "我个", "我忘", "我唔記得", "我唔记得", "忘記", "忘记", "重設", "重设", "更改", "改密碼", "wifi",
    ),
)
OTHERS = either(
    words(
        r"(?:other|another|different|rival|competitor'?s?|all (?:the )?other|every other|someone else'?s)"
        r" (?:tenants?|business(?:es)?|compan(?:y|ies)|shops?|merchants?|clients?|customers?|users?|accounts?|"
        r"salons?|stores?|brands?|organi[sz]ations?|people)'?s?"
    ),
    words(
        r"(?:previous|last|earlier|next) (?:customer|user|client|visitor|person)'?s?",
        r"(?:customer|user|person|client|visitor)s? (?:who|that) (?:chatted|talked|spoke|wrote|messaged|was here)",
    ),
    chars(
        r"(?:上一個|上一位|上個|上一个|之前嗰個|之前那个|之前那個)(?:客人|客戶|客户|用戶|用户|顧客|顾客)",
        r"(?:其他|其它|別的|别的|另一間|另一个|另一間|第二間|第二间|其他嘅|人哋)\S{0,2}?"
        r"(?:商戶|商户|公司|租戶|租户|客戶|客户|用戶|用户|商家|店舖|店铺|品牌|客人|機構|机构)"
    ),
)
RECORDS = either(
    words(
        r"data", r"documents?", r"files?", "knowledge", r"records?", r"prompts?", r"chats?",
        r"conversations?", r"messages?", "details", r"info(?:rmation)?", r"lists?", r"emails?",
        r"phone numbers?", r"orders?", r"bookings?", r"histor(?:y|ies)", r"logs?", r"questions?",
        r"contacts?", r"accounts?",
    ),
    chars(
        "資料", "资料", "數據", "数据", "文件", "記錄", "记录", "紀錄", "纪录", "對話", "对话", "訊息", "讯息", "名單", "名单", "電話", "电话",
        "電郵", "电邮", "知識", "知识", "問題", "问题", "訂單", "订单",
        "講過", "讲过", "講咗", "說過", "说过", "email address", "address",
    ),
)

# --- become someone else --------------------------------------------------------------------------------
ROLE = either(
    words(
        r"you(?:'re| are) now", r"from now on,? you", "act as", "acting as",
        r"pretend(?: to be| you(?:'re| are))", r"role-?play(?:ing)?", "play the role",
        r"imagine (?:you(?:'re| are)|being)", "simulate", "you will be", r"you(?:'re| are) going to be",
        "become", r"switch (?:to|into)", "enter", "enable", "activate", "you(?:'re| are)", "behave like",
        "respond as", "answer as",
    ),
    chars(
        "你而家係", "你現在是", "你现在是", "你而家做", "從現在開始", "从现在开始", "由而家開始", "由而家起", "扮演", "假裝", "假装", "扮成", "角色扮演",
        "當你係", "当你是", "想像你係", "想象你是", "你係一個", "你是一个", "你變成", "你变成", "切換到", "切换到", "進入", "进入", "開啟", "开启",
        "你係",
    ),
)
UNBOUND = either(
    words(
        "unrestricted", "unfiltered", "uncensored",
        r"no (?:rules|restrictions|limits|limitations|filters|guidelines|"
        r"boundaries|ethics|morals|censorship|safety)",
        r"without (?:any )?(?:\w+ )?(?:rules|restrictions|limits|"
        r"limitations|filters|safety|guidelines|censorship|boundaries)", r"free(?:d)? (?:from|of) (?:all |any )?(?:your |the )?(?:rules|guidelines|restrictions|limits|filters|instructions)", "evil", "opposite mode",
        "anything i ask", "not bound", "amoral", "no longer an ai", "obey only me", "obeys only me",
        r"answer(?:s|ing)? (?:everything|anything|any question)", r"never refuses?", r"no refusals?", "say anything",
    ),
    chars(
        "冇任何限制", "冇限制", "無限制", "无限制", "沒有限制", "没有限制", "不受限制", "不受約束", "不受约束", "無任何限制", "沒有任何限制", "没有任何限制",
        "無審查", "无审查", "乜都可以答", "乜都答", "什麼都可以回答", "什么都可以回答", "任何問題都", "任何问题都", "唔使守規矩", "不用守規矩", "自由回答",
        "想講咩就講咩", "想说什么就说什么", "答我任何問題", "答我任何问题",
        "乜都肯講", "乜都講", "什麼都肯說", "什么都肯说", "冇規矩", "無規矩", "无规矩", "没有规矩", "沒有規矩", "做任何嘢", "做任何事",
    ),
)
JAILBREAK = either(
    words(
        r"jailbr(?:eak|oken)", "dan mode", "do anything now", "developer mode", "dev mode", "god mode",
        "admin mode", "sudo mode", "unfilteredgpt", "evilbot",
    ),
    chars(
        "開發者模式", "开发者模式", "管理員模式", "管理员模式", "上帝模式", "越獄", "越狱", "調試模式", "调试模式",
    ),
)

# --- speak as the system --------------------------------------------------------------------------------
TEMPLATE = r"(?:<\|im_(?:start|end)\|>|<\|(?:system|assistant|user|endoftext)\|>|\[/?inst\]|<</?sys>>|###\s*(?:system|instruction|new instructions?)|\bbegin system\b|^\s*system\s*:)"
NOTICE = either(
    r"(?:^|[\[(*#【<|]\s*)(?:system|admin|administrator|developer|operator|root|security|moderator|openai|"
    r"anthropic|management|sysadmin|debug)\s*(?:notice|message|override|alert|update|announcement|instructions?|"
    r"command|note|directive|prompt|mode|priority)?\s*(?:[:\]】>|]|\*{2,}|!{1,})",
    words(
        r"message from (?:the |your )?(?:developers?|admin(?:istrator)?|system|openai|creators?|management|owner)",
        r"new (?:instructions|rules|directives|orders)", r"updated (?:instructions|rules)",
        r"priority (?:1|one|override)", "security audit", "admin override", "system override",
        r"i(?:'m| am) (?:your|the|an?) (?:developer|creator|admin|administrator|owner|operator|programmer|engineer)s?",
    ),
    chars(
        r"【\s*(?:系統|系统|管理員|管理员|開發者|开发者|後台|后台)[^】]{0,6}】",
        r"(?:系統|系统|管理員|管理员|開發者|开发者|後台|后台)(?:通知|公告|訊息|信息|消息|指令|更新|警告)\s*[:：】]", "新指令", "新指示", "最高優先", "最高优先",
    ),
)
ADDRESSED = either(
    words(
        r"(?:note|message) (?:to|for) (?:the |any |all )?(?:ai|assistant|chatbot|bot|model|llm|language model)s?",
        r"(?:dear|attention|hey|hi|to the|to any) (?:ai|assistant|chatbot|bot|model|llm|language model|gpt)s?",
        r"if you are (?:an? |the )?(?:ai|assistant|chatbot|bot|language model|llm|gpt)",
        r"(?:ai|assistant|chatbot|bot|model|llm)s?(?: reading this)?,? (?:must|should|shall|needs? to|is required to|has to|will now|are required to)",
        r"(?:ai|assistant|chatbot|bot|llm|language model)s? reading this",
    ),
    r"(?:^|[^\w\s]\s*)(?:assistant|chatbot|bot|ai)\s*[,:]",
    r"\b(?:ai|assistant|chatbot|bot|gpt|llm) (?:instructions?|notes?|notice|rules|directives?)\s*:",
    chars(
        r"致\s*(?:ai|助手|機械人|机器人|機器人)", r"(?:ai|人工智能|機械人|機器人|机器人)\s*(?:助手)?\s*(?:注意|請|请|須|须|必須|必须|要)",
        r"助手\s*(?:必須|必须|須|须|要|應該|应该|注意|請|请)", r"(?:要求|叫|請|请|命令)\s*(?:ai|助手|機械人|机器人)",
        r"(?:給|给|俾|畀)(?:機械人|機器人|机器人|助手)",
    ),
)
RELAY = either(
    words(
        r"(?:tell|inform|reply to|respond to|answer|say to|give|offer|show|reveal \w+(?: \w+){0,3} to)"
        r" (?:every|all|each|any)(?: \w+){0,2} (?:customers?|users?|visitors?|clients?|guests?|callers?|people)",
        r"when(?:ever)? (?:anyone|someone|somebody|a (?:customer|user|visitor|client)|customers?|users?) asks?"
        r"[^.!?]{0,60}\b(?:reply|respond|answer|say|tell (?:them|him|her))",
        r"(?:always|only) (?:reply|respond|answer|say)", r"answer every (?:question|message)",
        r"to all (?:customers|users|visitors|clients)",
    ),
    chars(
        r"(?:話|讲|講|告訴|告诉)(?:俾|畀|給|给)?(?:所有|每個|每个|每位|每一位|全部)(?:客人|客戶|客户|顧客|顾客|用戶|用户)",
        r"(?:同|對|对)(?:每個|每个|每位|所有)(?:客人|客戶|客户|顧客|顾客)(?:講|讲|說|说)",
        r"(?:向|俾|畀|給|给)(?:客人|客戶|客户|顧客|顾客)(?:透露|顯示|显示|睇|看)", r"所有(?:價錢|价钱|價格|价格)一律",
    ),
)
FROM_NOW = either(
    words(r"from now on", r"from this point(?: on)?", "henceforth", "starting now"),
    chars("從現在開始", "从现在开始", "由而家開始", "由而家起", "由現在起", "由现在起"),
)
OBEY_ENCODED = words(
    r"decode (?:this|it|the following)?\s*(?:and|then) (?:do|follow|obey|execute|run|apply)",
    r"(?:follow|obey|execute|run) (?:the |these )?(?:decoded|encoded|hidden)",
)
PERSONA_NAME = words("dan", "stan")
NAMED_PERSONA = words(r"\w+gpt", r"(?!chat)\w+bot")  # "you are HackerGPT", not "you're a useless bot"
STRONG_ROLE = either(
    words(
        r"you(?:'re| are) now", r"from now on,? you", "act as", r"pretend(?: to be| you(?:'re| are))",
        r"role-?play(?:ing)?", "play the role", r"imagine (?:you(?:'re| are)|being)",
    ),
    chars("你而家係", "你現在是", "你现在是", "扮演", "假裝", "假装", "角色扮演", "想像你係", "想象你是"),
)
DEBUG_MODE = words("debug mode", "maintenance mode", "test mode", "diagnostic mode")
# In a document "your password" is the reader's: only staff and system accounts are secrets there.
STAFF_OWNER = either(
    words(
        "admin", "administrator", "root", "staff", "employee", "backend", "back-end", "back office",
        "dashboard", "server", "database", "db", "ssh", "ftp", "cms", "pos", "internal", "owner'?s?",
        "manager'?s?",
    ),
    chars(
        "後台", "后台", "管理員", "管理员", "伺服器", "服务器", "資料庫", "数据库", "員工", "员工", "admin", "root",
    ),
)
PASSWORD_VALUE = (
    r"(?:\b(?:pass(?:word|code)?|passwd|pwd)\b|密碼|密码|口令)"
    r"(?:\s*(?:\bis\b|[:：=])\s*[\"'「]?[^\s\"'」,，。]{4,}|\s+(?=[^\s]*[0-9!@#$%^&*])[^\s\"'」,，。]{4,})"
)
KEY_FORMAT = (
    r"\b(?:pk_|pa_)[a-z0-9_\-]{20,}|\bsk-[a-z0-9_\-]{20,}|\bakia[0-9a-z]{16}\b"
    r"|-----begin [a-z ]*private key-----\s*[a-z0-9+/=\s]{40,}"
)
# "Never share your password": advice that protects a secret, not a request for one.
NEGATED = (
    words(r"never", r"not", r"don'?t", r"do not", r"no one", r"nobody", r"won'?t", r"will never")
    + "|"
    + chars("唔好", "不要", "切勿", "千萬不要", "千祈唔好", "絕不", "绝不", "從不", "从不")
)
# A word that makes "rules" or "instructions" the assistant's (rather than "the delivery instructions").
ASSISTANT_MODIFIER = words(
    "your", "the", "all", "any", "previous", "prior", "above", "earlier", "initial", "original", "system",
    "those", "these", "every", "of", "own", "current", "existing", "safety", "content", "hidden", "secret",
    "old", "given", "following", "new", "programmed", "its", "default", "core", "base", "standing", "these",
)
# fmt: on

# fmt: off
# "You're no longer a salon assistant": the assistant told it is someone else now.
IDENTITY_SWITCH = either(
    words(r"you(?:'re| are) no longer (?:a|an|the|my|our)", r"stop being (?:a|an|the)",
          r"you(?:'re| are) not (?:a|an) (?:\w+ )?assistant any ?more"),
    chars(r"你(?:而家|現在|现在)?(?:唔再係|不再是|已經唔係|已经不是|再唔係)"),
)
# Rules declared void rather than set aside: "your earlier directives no longer apply", "之前嘅規則作廢".
NULLIFIED = either(
    words(r"no longer (?:apply|applies|valid|in (?:force|effect)|stand)", r"(?:don'?t|do not|does not|doesn'?t) apply(?: any ?more)?",
          r"(?:are|is|were|have been) (?:void|cancel+ed|revoked|lifted|suspended|over|off|gone|deleted|removed|obsolete|expired|overridden)",
          r"null and void"),
    chars("作廢", "作废", "唔再生效", "不再生效", "不再適用", "不再适用", "唔再適用", "無效", "无效", "取消咗", "已取消", "已經取消", "唔算數", "不算數", "不算数"),
)
ASSISTANT_MARKED = r"\b(?:your|previous|prior|earlier|all|system|initial|original|those|these)\b|你|之前|以前|原有|原本|所有|以上"
ALL_OF_IT = r"(?:全部|所有|一概|統統|统统|晒)\s*"
BA_PRONOUN = r"(?:將|将|把)\s*(?:佢哋|佢|它們|它们|它|這些|这些|呢啲)\s*\S{0,4}?"
EVERYONE = either(
    words(r"(?:all|every|each) (?:the |of the |of your )?(?:customers?|users?|clients?|members?|visitors?)'?s?"),
    chars(r"(?:所有|全部|每個|每个|每位)(?:嘅|的)?(?:客戶|客户|客人|用戶|用户|會員|会员|顧客|顾客)"),
)
IMPERATIVE = either(
    words("ignore", "disregard", "forget", "say", "tell", "reply", "respond", "answer", "quote", "give", "offer",
          "reveal", "print", "show", "always", "never", r"do not", r"don'?t", "must", "should", "stop", "pretend",
          "act", "share", "send", "from now on", "please"),
    chars("要", "必須", "必须", "須", "须", "請", "请", "唔好", "不要", "話", "讲", "講", "回覆", "回复", "回答", "告訴",
          "告诉", "由而家", "從現在", "从现在", "忽略", "無視", "无视"),
)
# fmt: on
