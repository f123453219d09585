"""The console's message catalogue: Korean first, English second.

    t = translator("en")
    t("nav.numbers")     # "Numbers"

A key missing from the catalogue shows as itself, so a forgotten message is visible on the
page rather than an error.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("ko", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "app.title": ("050 운영 콘솔", "050 operator console"),
    "nav.dashboard": ("대시보드", "Dashboard"),
    "nav.numbers": ("번호", "Numbers"),
    "nav.records": ("통화 기록", "Call records"),
    "nav.stats": ("통계", "Statistics"),
    "nav.agents": ("상담원", "Agents"),
    "nav.menus": ("메뉴·대기열", "Menus & queues"),
    "nav.sms": ("문자", "SMS"),
    "nav.audit": ("감사 기록", "Audit log"),
    "nav.users": ("사용자", "Users"),
    "nav.members": ("직원", "Members"),
    "nav.minutes": ("통화 시간", "Minutes"),
    "nav.signout": ("로그아웃", "Sign out"),
    "login.title": ("로그인", "Sign in"),
    "login.email": ("이메일", "E-mail"),
    "login.password": ("비밀번호", "Password"),
    "login.submit": ("로그인", "Sign in"),
    "login.invalid": ("이메일 또는 비밀번호가 틀렸습니다.", "Wrong e-mail or password."),
    "login.locked": (
        "로그인 실패가 너무 많아 계정이 잠겼습니다.",
        "Too many failed sign-ins: the account is locked.",
    ),
    "login.address": ("허용되지 않은 주소에서 접속했습니다.", "Your address is not allowed."),
    "login.csrf": (
        "양식이 만료되었습니다. 다시 시도하세요.",
        "The form expired; please try again.",
    ),
    "login.signed_out": ("로그아웃되었습니다.", "You are signed out."),
    "error.forbidden": ("이 작업을 할 권한이 없습니다.", "Your role does not allow this."),
    "error.not_found": ("찾을 수 없습니다.", "Not found."),
    "error.csrf": (
        "보안 토큰이 맞지 않습니다. 새로고침 후 다시 시도하세요.",
        "The security token did not match; reload and try again.",
    ),
    "dash.today": ("오늘", "Today"),
    "dash.calls": ("통화", "Calls"),
    "dash.answered": ("응답", "Answered"),
    "dash.answer_rate": ("응답률", "Answer rate"),
    "dash.missed": ("부재중", "Missed"),
    "dash.sms_sent": ("보낸 문자", "SMS sent"),
    "dash.by_hour": ("오늘 시간대별 통화", "Calls today by hour"),
    "dash.alerts": ("알림", "Alerts"),
    "dash.no_alerts": ("알림이 없습니다.", "No alerts."),
    "dash.agents_now": ("지금 상담원", "Agents now"),
    "num.number": ("번호", "Number"),
    "num.label": ("이름", "Label"),
    "num.tenant": ("고객사", "Tenant"),
    "num.status": ("상태", "Status"),
    "num.branch": ("지점", "Branch"),
    "num.updated": ("변경", "Updated"),
    "num.search": ("번호 또는 이름 검색", "Search number or label"),
    "num.settings": ("설정", "Settings"),
    "num.targets": ("착신 번호", "Forward targets"),
    "num.ring_seconds": ("벨 시간(초)", "Ring (s)"),
    "num.strategy": ("착신 방식", "Strategy"),
    "num.schedule": ("영업시간", "Schedule"),
    "num.schedule_help": (
        "한 줄에 하나: 요일 시간대… 예) mon-fri 11:00-15:00 16:00-22:00",
        "One per line: days then hours, e.g. mon-fri 11:00-15:00 16:00-22:00",
    ),
    "num.open": ("영업", "Open"),
    "num.lunch": ("점심", "Lunch"),
    "num.prompts": ("안내멘트", "Prompts"),
    "num.coloring": ("컬러링", "Coloring"),
    "num.whisper": ("착신멘트", "Whisper"),
    "num.dry_run": ("미리 보기", "Dry run"),
    "num.save": ("저장", "Save"),
    "num.saved": ("저장되었습니다.", "Saved."),
    "num.would_change": ("바뀌는 내용", "What would change"),
    "num.no_change": ("바뀌는 내용이 없습니다.", "Nothing would change."),
    "num.conflict": (
        "다른 사용자가 먼저 변경했습니다. 최신 내용을 다시 불러왔습니다.",
        "Someone else changed this number first; the latest version is loaded.",
    ),
    "num.fix": ("입력을 확인하세요.", "Please fix the highlighted fields."),
    "num.week": ("이번 주 안내", "This week"),
    "num.hear": ("이 시각에 전화하면", "What a caller hears at"),
    "num.hear_at": ("시각", "Time"),
    "num.caller": ("발신 번호", "Caller"),
    "num.ask": ("확인", "Show"),
    "num.history": ("착신 번호 변경 이력", "Forward target changes"),
    "num.audit": ("변경 기록", "Changes"),
    "num.force": ("24시간 잠금 무시(고객사 관리자)", "Override the 24 h lock (owners)"),
    "num.readonly": ("조회 전용입니다.", "Read-only for your role."),
    "num.before": ("변경 전", "Before"),
    "num.after": ("변경 후", "After"),
    "rec.from": ("시작일", "From"),
    "rec.to": ("종료일", "To"),
    "rec.caller": ("발신자", "Caller"),
    "rec.disposition": ("결과", "Result"),
    "rec.filter": ("조회", "Filter"),
    "rec.export": ("내보내기", "Export"),
    "rec.start": ("시작", "Start"),
    "rec.talk": ("통화(초)", "Talk (s)"),
    "rec.ring": ("벨(초)", "Ring (s)"),
    "rec.target": ("연결 번호", "Answered by"),
    "rec.trace": ("통화 경과", "What happened"),
    "rec.attempts": ("착신 시도", "Attempts"),
    "rec.prompts": ("들은 멘트", "Prompts heard"),
    "rec.reasons": ("판단 근거", "Why"),
    "rec.reveal": ("전체 번호 보기", "Reveal"),
    "rec.none": ("통화 기록이 없습니다.", "No call records."),
    "rec.direction": ("방향", "Direction"),
    "rec.dir.inbound": ("수신", "inbound"),
    "rec.dir.outbound": ("발신", "outbound"),
    "rec.member": ("직원", "Member"),
    "rec.charged": ("차감", "Charged"),
    "call.new": ("전화 걸기", "Call out"),
    "call.back": ("다시 걸기", "Call back"),
    "call.member": ("거는 직원", "Member"),
    "call.to": ("받는 번호", "Destination"),
    "call.caller_id": ("표시 번호", "Caller ID"),
    "call.caller_id_default": ("직원의 기본 번호", "the member's default"),
    "call.dial": ("걸기", "Call"),
    "call.calling": ("전화 거는 중… 통화 ID", "Calling… call id"),
    "call.fill": ("직원과 받는 번호를 입력하세요.", "Choose a member and a destination."),
    "call.help": (
        "직원의 휴대전화가 먼저 울리고, 받으면 고객에게 회사 번호로 연결합니다.",
        "The member's mobile rings first; once answered the customer is rung showing the"
        " company's number.",
    ),
    "call.refused.destination-invalid": ("받는 번호가 올바르지 않습니다.", "Not a valid number."),
    "call.refused.destination-blocked": (
        "걸 수 없는 번호입니다(유료·국제·차단).",
        "That destination is blocked (premium, international or the tenant's list).",
    ),
    "call.refused.emergency-refused": (
        "긴급번호는 걸 수 없습니다.",
        "Emergency numbers are refused.",
    ),
    "call.refused.outside-hours": ("발신 가능 시간이 아닙니다.", "Outside the calling hours."),
    "call.refused.caller-id-not-allowed": (
        "이 직원이 쓸 수 없는 표시 번호입니다.",
        "The member may not use that caller ID.",
    ),
    "call.refused.caller-id-unverified": (
        "인증되지 않은 표시 번호입니다.",
        "That caller ID is not verified.",
    ),
    "call.refused.no-caller-id": ("쓸 수 있는 표시 번호가 없습니다.", "No caller ID to show."),
    "call.refused.no-minutes": ("남은 통화 시간이 없습니다.", "No minutes left."),
    "call.refused.engine_not_attached": (
        "통화 엔진이 연결되어 있지 않습니다.",
        "No call engine is attached.",
    ),
    "call.refused.caller_unknown": (
        "발신자가 번호를 숨겨 다시 걸 수 없습니다.",
        "The caller withheld their number.",
    ),
    "call.refused.not_found": ("찾을 수 없습니다.", "Not found."),
    "members.mobile": ("휴대전화", "Mobile"),
    "members.role.member": ("직원", "member"),
    "members.role.manager": ("관리자", "manager"),
    "members.any_caller_id": ("고객사 번호 모두", "any of the tenant's"),
    "members.remove": ("삭제", "Remove"),
    "members.add": ("직원 추가", "Add a member"),
    "members.added": ("직원을 추가했습니다:", "Member added:"),
    "members.removed": ("직원을 삭제했습니다:", "Member removed:"),
    "members.unverified": ("미인증", "unverified"),
    "members.caller_ids_help": ("선택 안 함: 모두", "none chosen: any"),
    "minutes.pool": ("고객사 잔여 시간", "Tenant pool"),
    "minutes.balance": ("잔여", "Balance"),
    "minutes.calls": ("발신", "Calls"),
    "minutes.talk": ("통화 시간", "Talk"),
    "minutes.allocate": ("시간 배분", "Allocate"),
    "minutes.allocate_help": (
        "고객사 잔여 시간에서 직원에게 분 단위로 옮깁니다(음수: 회수).",
        "Moves whole minutes from the pool to the member (negative: takes them back).",
    ),
    "minutes.amount": ("분", "Minutes"),
    "minutes.reason": ("사유", "Reason"),
    "minutes.ledger": ("원장", "Ledger"),
    "minutes.kind": ("종류", "Kind"),
    "minutes.seconds": ("시간", "Time"),
    "minutes.call": ("통화", "Call"),
    "minutes.whole": (
        "0이 아닌 정수(분)를 입력하세요.",
        "Enter a whole number of minutes other than 0.",
    ),
    "minutes.allocated": ("배분했습니다:", "Allocated to"),
    "members.none": ("등록된 직원이 없습니다.", "No members yet."),
    "stats.daily": ("일별 통화", "Calls per day"),
    "stats.hourly": ("시간대별 통화", "Calls by hour"),
    "stats.rate": ("일별 응답률", "Answer rate per day"),
    "stats.queues": ("대기열", "Queues"),
    "stats.service_level": ("서비스 레벨", "Service level"),
    "stats.abandoned": ("포기", "Abandoned"),
    "stats.avg_wait": ("평균 대기(초)", "Average wait (s)"),
    "stats.offered": ("인입", "Offered"),
    "stats.unique": ("고유 발신자", "Unique callers"),
    "stats.first_time": ("첫 발신자", "First-time callers"),
    "stats.days": ("기간(일)", "Days"),
    "agents.live": ("실시간", "Live"),
    "agents.name": ("이름", "Name"),
    "agents.state": ("상태", "State"),
    "agents.since": ("부터", "Since"),
    "agents.queues": ("대기열", "Queues"),
    "agents.reachable": ("연결 가능", "Reachable"),
    "menus.items": ("항목", "Items"),
    "menus.key": ("번호", "Key"),
    "menus.action": ("동작", "Action"),
    "sms.recipient": ("수신자", "Recipient"),
    "sms.state": ("상태", "State"),
    "sms.body": ("내용", "Text"),
    "sms.created": ("생성", "Created"),
    "audit.at": ("시각", "When"),
    "audit.actor": ("사용자", "Who"),
    "audit.action": ("작업", "Action"),
    "audit.resource": ("대상", "What"),
    "audit.address": ("주소", "From"),
    "audit.change": ("변경 내용", "Change"),
    "users.email": ("이메일", "E-mail"),
    "users.role": ("역할", "Role"),
    "users.tenant": ("고객사", "Tenant"),
    "users.last_login": ("최근 로그인", "Last sign-in"),
    "users.add": ("사용자 추가", "Add a user"),
    "users.password": ("초기 비밀번호", "First password"),
    "users.created": ("사용자를 추가했습니다.", "User added."),
    "common.none": ("없음", "none"),
    "common.yes": ("예", "yes"),
    "common.no": ("아니오", "no"),
    "common.more": ("더 보기", "More"),
    "common.lang": ("English", "한국어"),
}


def pick_language(query: str | None, cookie: str | None, user: str | None) -> str:
    """The page's language: ``?lang=``, then the cookie, then the user's own, then Korean."""
    for choice in (query, cookie, user):
        if choice in LANGUAGES:
            return str(choice)
    return "ko"


def translator(lang: str) -> Callable[[str], str]:
    """A function from message key to the text in ``lang``."""
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = MESSAGES.get(key)
        return pair[index] if pair else key

    return t
