"""The application a test operator (测试主体) submits, as a pydantic v2 model.

Structure fields (activity, entity, vehicles, drivers, dates of the application) are required: an
application without them is bad input (exit 2). Facts that a rule judges (capabilities, records,
materials…) are optional: where one is missing, the rule that needs it reports *incomplete* and
names the field, so an operator can pre-check a draft.

Every model forbids unknown fields, so a misspelt key is reported rather than silently ignored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, ValidationInfo, field_validator, model_serializer

from icv_permits.core.i18n import N_
from icv_permits.core.model.types import Count, Date, Identifier, Items, Phone, Quantity, Ref, Text, Yuan

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---------------------------------------------------------------- enumerations


class Activity(StrEnum):
    road_test = "road_test"  # 道路测试 RT
    demonstration_application = "demonstration_application"  # 示范应用 DA
    demonstration_operation = "demonstration_operation"  # 示范运营 DO (Anhui)


class NoticeKind(StrEnum):
    road_test = "road_test"
    demonstration_application = "demonstration_application"
    demonstration_operation = "demonstration_operation"


class BusinessScope(StrEnum):
    icv_manufacturing = "icv_manufacturing"  # 智能网联汽车制造
    parts_manufacturing = "parts_manufacturing"  # 零部件制造
    technology_rd = "technology_rd"  # 技术研发
    testing_inspection = "testing_inspection"  # 检验检测
    transport_operation = "transport_operation"  # 道路运输经营
    other = "other"


class VehicleCategory(StrEnum):
    passenger = "passenger"  # 乘用车辆
    commercial = "commercial"  # 商用车辆
    special_operation = "special_operation"  # 专用作业车辆
    low_speed = "low_speed"  # 低速汽车
    motorcycle = "motorcycle"  # 摩托车


class VehicleType(StrEnum):
    """Vehicle type as it determines the driving-licence class needed (准驾车型)."""

    small_car = "small_car"  # 小型、微型载客汽车 → C1
    small_car_automatic = "small_car_automatic"  # 小型自动挡载客汽车 → C2
    light_truck = "light_truck"  # 轻型、微型载货汽车 → C1
    medium_bus = "medium_bus"  # 中型载客汽车 → B1
    large_bus = "large_bus"  # 大型载客汽车 → A1
    city_bus = "city_bus"  # 城市公交车 → A3
    heavy_truck = "heavy_truck"  # 重型、中型载货汽车 → B2
    tractor = "tractor"  # 重型、中型全挂、半挂汽车列车 → A2
    special_light = "special_light"  # 轻型、微型专项作业车 → C1
    special_heavy = "special_heavy"  # 重型、中型专项作业车 → B2


class LicenceClass(StrEnum):
    """Driving-licence classes (准驾车型代号) of 《机动车驾驶证申领和使用规定》."""

    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"
    C6 = "C6"
    D = "D"
    E = "E"
    F = "F"
    M = "M"
    N = "N"
    P = "P"


class Contract(StrEnum):
    labour = "labour"  # 劳动合同
    service = "service"  # 劳务合同
    none = "none"


class Liability(StrEnum):
    """Share of responsibility in a police accident determination (事故责任认定)."""

    full = "full"  # 全部责任
    main = "main"  # 主要责任
    equal = "equal"  # 同等责任
    minor = "minor"  # 次要责任
    none = "none"  # 无责任


class IncidentKind(StrEnum):
    violation = "violation"  # 交通违法
    accident = "accident"  # 交通事故


class InsuranceKind(StrEnum):
    compulsory = "compulsory"  # 交强险
    liability = "liability"  # 交通事故责任保险
    guarantee_letter = "guarantee_letter"  # 自动驾驶事故赔偿保函
    seat = "seat"  # 座位险
    personal_accident = "personal_accident"  # 人身意外险


class Province(StrEnum):
    anhui = "anhui"
    shanghai = "shanghai"
    jiangsu = "jiangsu"
    zhejiang = "zhejiang"
    other = "other"


class DataItem(StrEnum):
    """Data items a vehicle uploads in real time (VEH-05 items 1–4)."""

    control_mode = "control_mode"  # 车辆控制模式
    position = "position"  # 车辆位置
    motion_state = "motion_state"  # 车辆速度、加速度、行驶方向等运动状态
    perception_response = "perception_response"  # 环境感知及响应状态


class Material(StrEnum):
    """Application materials (申请材料), MAT-01…03."""

    basic_information = "basic_information"  # 主体、驾驶人、车辆基本信息
    safety_self_declaration = "safety_self_declaration"  # 安全性自我声明
    test_zone_report = "test_zone_report"  # 测试区(场)测试报告
    third_party_inspection_report = "third_party_inspection_report"  # 第三方检测报告
    test_plan = "test_plan"  # 测试方案(路段、时间、项目)
    insurance_proofs = "insurance_proofs"  # 保险凭证或保函
    driver_training_records = "driver_training_records"  # 驾驶人培训记录
    road_test_records = "road_test_records"  # 道路测试完整记录
    cybersecurity_assessment = "cybersecurity_assessment"  # 网络安全风险评估及措施证明
    demonstration_plan_review = "demonstration_plan_review"  # 经第三方评估的示范应用方案
    carriage_statement = "carriage_statement"  # 载人载物说明
    operating_qualification = "operating_qualification"  # 道路运输经营资质
    fee_scheme = "fee_scheme"  # 收费方案
    yrd_notice_and_plates = "yrd_notice_and_plates"  # 长三角其他省市通知书及临时号牌
    added_vehicle_explanation = "added_vehicle_explanation"  # 增加车辆数量及必要性说明


# ---------------------------------------------------------------- parts


class Modifiers(_Model):
    highway: bool = False  # 高速公路
    night: bool = False  # 夜间
    adding_vehicles: bool = False  # 增加配置相同的车辆
    yrd_recognition: bool = False  # 长三角互认
    renewal: bool = False  # 到期重新申请


class Capabilities(_Model):
    test_evaluation_procedure: bool | None = None  # ENT-03 测试评价规程
    remote_monitoring: bool | None = None  # ENT-04 远程实时监控
    event_recording: bool | None = None  # ENT-05 事件记录、分析和重现
    cybersecurity: bool | None = None  # ENT-06 车辆及平台网络安全保障


class ConsortiumMember(_Model):
    name: Text
    credit_code: Identifier
    operating_service_capability: bool = False


class Consortium(_Model):
    members: Annotated[Items[ConsortiumMember], Field(min_length=1)]
    operating_services_agreement: bool | None = None  # 运营服务协议
    tort_liability_agreement: bool | None = None  # 侵权责任分担协议


class Holder(StrEnum):
    self_ = "self"  # 本主体
    partner = "partner"  # 合作方


class OperatingQualification(_Model):
    holder: Holder
    permit_number: Text
    valid_until: Date


class Entity(_Model):
    name: Text
    credit_code: Identifier
    independent_legal_person: bool | None = None
    registered_in_prc: bool | None = None
    business_scopes: Items[BusinessScope] | None = None
    # what the business is, where business_scopes names ``other``: the list of scopes in the rules
    # ends in "等" (and the like), so another scope is judged by a reviewer (ENT-02 warns)
    business_scope_other: Text | None = None
    capabilities: Capabilities = Capabilities()
    consortium: Consortium | None = None
    operating_qualification: OperatingQualification | None = None
    contact_phone: Phone | None = None

    @model_serializer(mode="wrap")
    def _omit_unset_other(self, handler: SerializerFunctionWrapHandler) -> dict:
        """Without a description the entity serialises as before the field existed, so that the
        content hash of every application written before it stays the same."""
        out = handler(self)
        if isinstance(out, dict) and out.get("business_scope_other") is None:
            out.pop("business_scope_other", None)
        return out


class Licence(_Model):
    classes: Annotated[Items[LicenceClass], Field(min_length=1)]
    first_issued: Date


class Violation(_Model):
    date: Date
    kind: Text
    serious: bool = False


class Accident(_Model):
    date: Date
    liability: Liability
    death_or_serious_injury: bool = False


class Training(_Model):
    certified: bool | None = None
    covers_plan: bool | None = None  # 测试方案/示范应用方案
    covers_emergency: bool | None = None  # 应急处置
    hours: Quantity | None = None


class Driver(_Model):
    ref: Ref  # local reference used by vehicles[].drivers
    name: Text
    id_number: Identifier
    phone: Phone | None = None
    contract: Contract | None = None
    licence: Licence | None = None
    full_score_dates: Items[Date] | None = None  # dates a 12-point full score was reached
    serious_violations: Items[Violation] | None = None
    drink_or_drug_record: bool | None = None
    accidents: Items[Accident] | None = None
    training: Training | None = None


class ExemptItem(_Model):
    item: Text
    safety_proof: bool = False


class Inspection(_Model):
    passed_except_durability: bool | None = None
    items_not_met_due_to_ad: Items[ExemptItem] = []


class Modes(_Model):
    manual: bool | None = None
    autonomous: bool | None = None
    switch_prompt: bool | None = None  # 安全、快速、简单转换并有提示
    instant_manual_takeover: bool | None = None  # 任何情况下即时转为人工操作


class DataRecording(_Model):
    records_state: bool | None = None
    online_monitoring: bool | None = None
    realtime_upload: Items[DataItem] | None = None
    pre_event_seconds: Quantity | None = None
    retention_months: Quantity | None = None


class TestZone(_Model):
    tested: bool | None = None
    third_party_inspection_passed: bool | None = None
    report_number: Text | None = None


class PriorTesting(_Model):
    """Autonomous road testing already done by one vehicle on one section (a summary)."""

    section: Ref
    hours: Quantity
    km: Quantity
    records_submitted: bool | None = None


class Vehicle(_Model):
    vin: Identifier
    category: VehicleCategory
    vehicle_type: VehicleType | None = None
    brand_model: Text | None = None
    configuration: Text | None = None  # configuration identifier, for ADD-01
    rated_seats: Annotated[int, Field(ge=0, le=200)] | None = None
    approved_load_kg: Count | None = None
    previously_registered: bool | None = None
    inspection: Inspection | None = None
    modes: Modes | None = None
    data_recording: DataRecording | None = None
    test_zone: TestZone | None = None
    body_marking: Text | None = None
    roof_sign_lamp: bool | None = None
    connected_remote_control: bool = False  # 联网 / 远程控制平台 (MAT-02 cybersecurity)
    drivers: Items[Ref] = []
    prior_testing: Items[PriorTesting] = []


class Insurance(_Model):
    kind: InsuranceKind
    number: Text
    insurer: Text | None = None
    vins: Annotated[Items[Identifier], Field(min_length=1)]
    amount_yuan: Yuan | None = None
    per_seat_yuan: Yuan | None = None
    valid_from: Date
    valid_to: Date


class Incident(_Model):
    kind: IncidentKind
    date: Date
    vin: Identifier
    section: Ref | None = None
    liability: Liability | None = None  # accidents only
    police_reference: Text | None = None
    during_road_test: bool = True
    description: Text | None = None


class Period(_Model):
    start: Date
    end: Date


class Operations(_Model):
    carries_passengers: bool = False
    carries_goods: bool = False
    passengers_are_test_staff_only: bool | None = None
    goods_are_ballast_only: bool | None = None
    max_people_per_vehicle: Count | None = None
    max_load_kg_per_vehicle: Count | None = None
    dangerous_goods: bool | None = None
    unlicensed_transport_business: bool | None = None
    brake_tests_on_public_roads: bool | None = None
    risk_notice_to_riders: bool | None = None  # 提前告知风险并采取安全措施
    autonomous_only_on_declared_sections: bool | None = None
    fee_charged: bool = False


class Notice(_Model):
    """An earlier notice (通知书) of the entity — its history, needed by DOP-01/02, ADD-01, YRD-01."""

    number: Text
    kind: NoticeKind
    issuer_province: Province = Province.anhui
    issued: Date
    valid_from: Date | None = None  # when it takes effect, if later than the day it was issued
    valid_until: Date
    vins: Items[Identifier] = []
    configurations: Items[Text] = []
    sections: Items[Ref] = []
    plates_issued: Date | None = None
    plates_valid_until: Date | None = None


    @property
    def start(self):
        """The first day the notice is in force."""
        return self.valid_from or self.issued


class Adding(_Model):
    original_notice: Text | None = None
    necessity_explained: bool | None = None


class Evidence(_Model):
    """Evidence files, by path relative to the application file (docs/evidence.md)."""

    trips: Items[Text] = []  # trip logs: CSV or JSON Lines
    incidents: Items[Text] = []  # violations and accidents


class Application(_Model):
    """An application for road testing, demonstration application or demonstration operation."""

    schema_version: Annotated[int, Field(ge=1, le=SCHEMA_VERSION)] = SCHEMA_VERSION
    application_id: Ref | None = None
    application_date: Date
    activity: Activity
    modifiers: Modifiers = Modifiers()
    entity: Entity
    drivers: Annotated[list[Driver], Field(min_length=1, max_length=500)]
    vehicles: Annotated[list[Vehicle], Field(min_length=1, max_length=500)]
    insurance: Items[Insurance] = []
    incidents: Items[Incident] = []
    sections: Annotated[Items[Ref], Field(min_length=1)]
    period: Period
    operations: Operations = Operations()
    materials: dict[Material, bool] | None = None
    notices: Items[Notice] = []
    adding: Adding | None = None
    evidence: Evidence | None = None

    @field_validator("drivers")
    @classmethod
    def _unique_driver_refs(cls, drivers: list[Driver]) -> list[Driver]:
        seen: set[str] = set()
        for d in drivers:
            if d.ref in seen:
                raise ValueError(N_("driver ref “{ref}” is used twice; each driver needs its own ref"), {"ref": d.ref})
            seen.add(d.ref)
        return drivers

    @field_validator("vehicles")
    @classmethod
    def _known_driver_refs(cls, vehicles: list[Vehicle], info: ValidationInfo) -> list[Vehicle]:
        drivers = info.data.get("drivers")
        if drivers is None:  # the drivers are invalid themselves: reported there
            return vehicles
        known = {d.ref for d in drivers}
        for i, v in enumerate(vehicles):
            for r in v.drivers:
                if r not in known:
                    raise ValueError(
                        N_("vehicles[{index}].drivers names “{ref}”, which is not the ref of any driver"),
                        {"index": i, "ref": r},
                    )
        return vehicles

    @property
    def is_demonstration(self) -> bool:
        return self.activity in (Activity.demonstration_application, Activity.demonstration_operation)
