-- A failing row is a merger listed in Resolution 202/2025/QH15 (the list below) that the crosswalk
-- does not record, or a crosswalk row that the list does not have.
{{ config(meta={'dagster': {'ref': {'name': 'province_crosswalk'}}}) }}
with expected(new_name, old_name) as (
    values
    ('Hà Nội', 'Hà Nội'), ('Huế', 'Thừa Thiên Huế'), ('Lai Châu', 'Lai Châu'), ('Điện Biên', 'Điện Biên'),
    ('Sơn La', 'Sơn La'), ('Lạng Sơn', 'Lạng Sơn'), ('Quảng Ninh', 'Quảng Ninh'), ('Thanh Hóa', 'Thanh Hóa'),
    ('Nghệ An', 'Nghệ An'), ('Hà Tĩnh', 'Hà Tĩnh'), ('Cao Bằng', 'Cao Bằng'),
    ('Tuyên Quang', 'Tuyên Quang'), ('Tuyên Quang', 'Hà Giang'),
    ('Lào Cai', 'Lào Cai'), ('Lào Cai', 'Yên Bái'),
    ('Thái Nguyên', 'Thái Nguyên'), ('Thái Nguyên', 'Bắc Kạn'),
    ('Phú Thọ', 'Phú Thọ'), ('Phú Thọ', 'Vĩnh Phúc'), ('Phú Thọ', 'Hòa Bình'),
    ('Bắc Ninh', 'Bắc Ninh'), ('Bắc Ninh', 'Bắc Giang'),
    ('Hưng Yên', 'Hưng Yên'), ('Hưng Yên', 'Thái Bình'),
    ('Hải Phòng', 'Hải Phòng'), ('Hải Phòng', 'Hải Dương'),
    ('Ninh Bình', 'Ninh Bình'), ('Ninh Bình', 'Hà Nam'), ('Ninh Bình', 'Nam Định'),
    ('Quảng Trị', 'Quảng Trị'), ('Quảng Trị', 'Quảng Bình'),
    ('Đà Nẵng', 'Đà Nẵng'), ('Đà Nẵng', 'Quảng Nam'),
    ('Quảng Ngãi', 'Quảng Ngãi'), ('Quảng Ngãi', 'Kon Tum'),
    ('Gia Lai', 'Gia Lai'), ('Gia Lai', 'Bình Định'),
    ('Khánh Hòa', 'Khánh Hòa'), ('Khánh Hòa', 'Ninh Thuận'),
    ('Lâm Đồng', 'Lâm Đồng'), ('Lâm Đồng', 'Đắk Nông'), ('Lâm Đồng', 'Bình Thuận'),
    ('Đắk Lắk', 'Đắk Lắk'), ('Đắk Lắk', 'Phú Yên'),
    ('Đồng Nai', 'Đồng Nai'), ('Đồng Nai', 'Bình Phước'),
    ('TP. Hồ Chí Minh', 'TP. Hồ Chí Minh'), ('TP. Hồ Chí Minh', 'Bình Dương'), ('TP. Hồ Chí Minh', 'Bà Rịa - Vũng Tàu'),
    ('Tây Ninh', 'Tây Ninh'), ('Tây Ninh', 'Long An'),
    ('Cần Thơ', 'Cần Thơ'), ('Cần Thơ', 'Sóc Trăng'), ('Cần Thơ', 'Hậu Giang'),
    ('Vĩnh Long', 'Vĩnh Long'), ('Vĩnh Long', 'Bến Tre'), ('Vĩnh Long', 'Trà Vinh'),
    ('Đồng Tháp', 'Đồng Tháp'), ('Đồng Tháp', 'Tiền Giang'),
    ('Cà Mau', 'Cà Mau'), ('Cà Mau', 'Bạc Liêu'),
    ('An Giang', 'An Giang'), ('An Giang', 'Kiên Giang')
),
actual as (
    select n.name_vi as new_name, o.name_vi as old_name
    from {{ ref('province_crosswalk') }} as cw
    join {{ ref('provinces_63') }} as o on o.province_code = cw.old_province_code
    join {{ ref('provinces_34') }} as n on n.province_code = cw.new_province_code
)
(select 'missing from crosswalk' as problem, * from expected except select 'missing from crosswalk', * from actual)
union all
(select 'not in Resolution 202/2025/QH15', * from actual except select 'not in Resolution 202/2025/QH15', * from expected)
