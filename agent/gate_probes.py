"""Questions that almost no business's knowledge answers, asked of each tenant's knowledge to learn how
close an unanswerable question comes there (agent/gate.py calibrates on them).

Written for this project, generic on purpose (payments, branches, delivery, perks a business may not
offer), in English and in Cantonese/written Chinese. A tenant whose knowledge happens to answer a few
of them is fine: the gate uses the median, not the maximum.
"""

from __future__ import annotations

PROBES: dict[str, list[str]] = {
    "en": [
        "Do you accept Apple Pay?",
        "Where is your nearest branch?",
        "Do you deliver to Macau?",
        "What is your fax number?",
        "Is there free parking nearby?",
        "Can I pay cash on delivery?",
        "Are you open on public holidays?",
        "Can I bring my dog?",
        "Do you offer a corporate discount for bank staff?",
        "Is there an app for smartwatches?",
        "Do you run workshops for kids?",
        "Can I pay with Bitcoin?",
        "Do you have a branch in Singapore?",
        "Do you offer a senior citizen discount?",
        "Is your product halal certified?",
        "Can I rent equipment by the hour?",
        "Do you provide insurance for lost items?",
        "Do you sponsor school events?",
        "Can I get a printed catalogue by post?",
        "Is there a dress code?",
    ],
    "zh": [
        "可唔可以用 Apple Pay 俾錢？",
        "你哋最近嘅分店喺邊？",
        "有冇得送貨去澳門？",
        "傳真號碼係幾多？",
        "附近有冇免費泊車？",
        "可唔可以貨到付款？",
        "公眾假期有冇開？",
        "可唔可以帶狗入去？",
        "銀行職員有冇團體折扣？",
        "有冇智能手錶 app？",
        "有冇小朋友工作坊？",
        "可唔可以用比特幣付款？",
        "新加坡有冇分公司？",
        "長者有冇優惠？",
        "產品有冇清真認證？",
        "可以按鐘租用器材嗎？",
        "遺失物品有冇保險？",
        "你們有贊助學校活動嗎？",
        "可以郵寄紙本目錄給我嗎？",
        "有沒有服裝要求？",
    ],
}
