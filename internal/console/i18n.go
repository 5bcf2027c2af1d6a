package console

// zh translates the console's English text to Chinese; text without an
// entry is shown in English.
var zh = map[string]string{
	"Status": "状态", "Tenants": "租户", "Keys": "密钥", "Key": "密钥", "Certificates": "证书", "TSAs": "时间戳服务",
	"Tokens": "令牌", "Policies": "策略", "Policy": "策略", "Audit": "审计", "Usage": "用量", "Compliance": "合规报告",
	"V2X": "车联网", "Sign in": "登录", "Sign out": "退出", "Token": "令牌", "Forbidden": "禁止访问", "Tenant": "租户",
	"Seal status": "封印状态", "Initialized": "已初始化", "Sealed": "已封印", "Key shares": "密钥分量",
	"Unseal progress": "解封进度", "Unattended unseal": "自动解封", "Cluster ID": "集群标识", "Version": "版本",
	"Barrier keyring": "屏障密钥环", "Term": "轮次", "Installed": "安装时间", "Acting in tenant": "当前租户", "Switch": "切换",
	"Item": "项目", "Value": "值", "Name": "名称", "Created": "创建时间", "Create": "创建", "Create a tenant": "创建租户",
	"Tenant created": "租户已创建", "Search": "搜索", "Type": "类型", "State": "状态", "Next rotation": "下次轮换",
	"Actions": "操作", "Rotate": "轮换", "Disable": "停用", "Enable": "启用", "Schedule deletion": "计划删除",
	"Cancel deletion": "取消删除", "Create a key": "创建密钥", "Versions": "版本", "Next page": "下一页",
	"Certificate authorities": "证书颁发机构", "Serial": "序列号", "Subject": "主题", "Not after": "有效期至",
	"Revoke": "吊销", "Expiring within 30 days": "30 天内过期", "Timestamp authorities": "时间戳机构",
	"Accessor": "访问标识", "Policies (comma-separated)": "策略（逗号分隔）", "Expires": "过期时间", "Create a token": "创建令牌",
	"Token created": "令牌已创建", "New policy": "新建策略", "Edit": "编辑", "Rules": "规则", "Save": "保存",
	"What this policy grants": "该策略授予的权限", "Operation": "操作", "Objects": "对象", "Search the audit log": "审计检索",
	"Records": "记录", "Chain verification": "哈希链验证", "Verified": "已验证", "Last checkpoint": "最近检查点",
	"Calls by operation": "按操作统计调用", "Calls by key": "按密钥统计调用", "Calls by tenant": "按租户统计调用",
	"Calls per minute": "每分钟调用次数", "The last hour": "最近一小时", "Calls": "调用", "Errors": "错误",
	"Check": "检查项", "Area": "层面", "Evidence": "证据", "Fix": "处置", "Download as JSON": "下载 JSON",
	"GB/T 39786-2021 level 3": "GB/T 39786-2021 第三级", "V2X deployments": "车联网部署", "Deployment": "部署",
	"From": "起始时间", "To": "截止时间", "Object": "对象", "Seq": "序号", "Time": "时间", "Request": "请求",
	"The records of the tenant named in the header.":                                      "页眉所示租户的记录。",
	"Times are RFC 3339 (2026-03-01T10:00:00Z); status is a code (404) or a class (4xx).": "时间格式为 RFC 3339（2026-03-01T10:00:00Z）；状态为状态码（404）或类别（4xx）。",
	"Devices": "密码设备", "Device pool": "设备池", "Healthy": "健康", "Drained": "已摘除", "Last check": "最近检查",
	"Last error": "最近错误", "Mean latency": "平均延迟", "Drain": "摘除", "Undrain": "恢复",
	"A drained device gets no new keys and serves only keys no other device holds. A server with one key device and no pool lists none.": "已摘除的设备不再生成新密钥，只服务其他设备未持有的密钥。只有一个密钥设备、未配置设备池的服务器不列出设备。",
	"Sign in with a certificate or SM9 identity": "使用证书或 SM9 标识登录", "Get a challenge": "获取挑战", "Sign with": "签名方式",
	"Login challenge": "登录挑战", "Nonce (hex)": "随机数（十六进制）", "Nonce (base64)": "随机数（base64）",
	"Signature (base64 or hex)": "签名（base64 或十六进制）", "Certificate (PEM)": "证书（PEM）",
	"KGC (the signature master key)": "KGC（签名主密钥）", "Identity": "标识",
	"The signature is neither base64 nor hex.":                                            "签名既不是 base64 也不是十六进制。",
	"Ask for a challenge, sign it with your USB key or SM9 key, and paste the signature.": "获取挑战，用 USB Key 或 SM9 密钥签名后粘贴签名。",
	"Name contains": "名称包含",
	"None":          "无", "Language": "语言", "Main menu": "主菜单", "request": "请求",
	"The form has expired or did not come from this console; reload the page and try again.": "表单已过期或并非来自本控制台，请刷新后重试。",
	"Your session has ended; sign in again.":                                                 "会话已结束，请重新登录。",
	"The token was not accepted.":                                                            "令牌未被接受。",
	"Sign in with a mima token. The console acts with this token's rights only.":             "使用 mima 令牌登录。控制台仅以该令牌的权限操作。",
}

// translate shows s in lang.
func translate(lang, s string) string {
	if lang == "zh" {
		if t, ok := zh[s]; ok {
			return t
		}
	}
	return s
}
