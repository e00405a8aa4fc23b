"""Words CC-CEDICT lacks, or gives only another sense of, in its own format (senses separated by "/").

CEDICT is a dictionary of Mainland usage: it has no 風球 and no 連接埠, and for "trial" it offers the court
(審判) before the free trial (試用). Customers in Hong Kong and pages written in Hong Kong or Taiwan use
these words every day. Everyday vocabulary of the city and of buying a product or a service online, never
any one business's terms. Its senses replace CEDICT's for the same word, and its words come first among
an English word's translations.
"""

from __future__ import annotations

SUPPLEMENT: dict[str, str] = {
    # Hong Kong weather warnings: "八號風球開唔開？" of a page that says "Typhoon Signal No. 8"
    "風球": "typhoon signal",
    "颱風信號": "typhoon signal",
    "黑雨": "black rainstorm warning",
    "紅雨": "red rainstorm warning",
    "黃雨": "amber rainstorm warning",
    "暴雨警告": "rainstorm warning",
    "公眾假期": "public holiday",
    # paying and shopping
    "按金": "deposit",
    "找數": "to pay the bill",
    "轉數快": "FPS/Faster Payment System",
    "微信支付": "WeChat Pay",
    "換貨": "to exchange goods/exchange",
    "優惠碼": "promo code/discount code/coupon",
    "折扣碼": "discount code/promo code",
    "免運": "free shipping/free delivery",
    "運費": "shipping fee/delivery fee/shipping",
    "送貨上門": "home delivery/to deliver",
    "攞貨": "to pick up goods/pickup",
    "會員價": "member price",
    "積分": "points/loyalty points",
    "費用": "fee/cost/expense",
    "收費": "fee/charge/to charge",
    "手續費": "handling fee/fee/service charge",
    "月費": "monthly fee/monthly",
    "年費": "annual fee/yearly fee",
    "到帳": "to be credited/to arrive",
    # accounts, plans and support, as Hong Kong and Taiwan write them
    "試用": "trial/free trial/to try out",
    "試用期": "trial period/trial",
    "帳號": "account",
    "帳戶": "account",
    "帳單": "bill/billing/invoice",
    "計費": "billing/to bill/charging",
    "續訂": "to renew/renewal",
    "續約": "to renew/renewal",
    "退訂": "to unsubscribe/to cancel a subscription",
    "升級": "to upgrade/upgrade",
    "降級": "to downgrade/downgrade",
    "登入": "to log in/login/sign in",
    "登出": "to log out/logout/sign out",
    "管理員": "administrator/admin",
    "權限": "permission/access rights",
    "工作區": "workspace",
    "聯絡人": "contact/contacts",
    "客服": "customer service/support/agent",
    "真人客服": "human agent/live agent",
    "工單": "ticket/support ticket",
    "群發": "broadcast/bulk message",
    "整合": "integration/to integrate",
    "串接": "to integrate/integration/to connect",
    "聊天機械人": "chatbot",
    "聊天機器人": "chatbot",
    "驗證碼": "verification code",
    "兩步驗證": "two-factor authentication/2FA",
    # computers and the web
    "連接埠": "port",
    "記憶體": "memory/RAM",
    "儲存空間": "storage/storage space",
    "供應商": "supplier/provider/vendor",
    "網域": "domain",
    "重灌": "to reinstall",
    "伺服器": "server",
}
