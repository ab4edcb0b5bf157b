// The grid factor a factor set's own rule gives an enterprise and period (accounting/grid.py,
// accounting/regions.py): the check 'figures' recomputes an entry's recorded choice with it.

// GB/T 2260 province codes and the key the factor sets name provinces by.
const PROVINCES = {
  11: 'beijing', 12: 'tianjin', 13: 'hebei', 14: 'shanxi', 15: 'inner_mongolia', 21: 'liaoning',
  22: 'jilin', 23: 'heilongjiang', 31: 'shanghai', 32: 'jiangsu', 33: 'zhejiang', 34: 'anhui',
  35: 'fujian', 36: 'jiangxi', 37: 'shandong', 41: 'henan', 42: 'hubei', 43: 'hunan',
  44: 'guangdong', 45: 'guangxi', 46: 'hainan', 50: 'chongqing', 51: 'sichuan', 52: 'guizhou',
  53: 'yunnan', 54: 'tibet', 61: 'shaanxi', 62: 'gansu', 63: 'qinghai', 64: 'ningxia', 65: 'xinjiang',
};
const NAMES_ZH = {
  11: '北京', 12: '天津', 13: '河北', 14: '山西', 15: '内蒙古', 21: '辽宁', 22: '吉林', 23: '黑龙江',
  31: '上海', 32: '江苏', 33: '浙江', 34: '安徽', 35: '福建', 36: '江西', 37: '山东', 41: '河南',
  42: '湖北', 43: '湖南', 44: '广东', 45: '广西', 46: '海南', 50: '重庆', 51: '四川', 52: '贵州',
  53: '云南', 54: '西藏', 61: '陕西', 62: '甘肃', 63: '青海', 64: '宁夏', 65: '新疆',
};
const NAMES_EN = { 15: 'inner mongolia' };
const RULESET_REGION_KEYS = { 'cn-zj-huzhou': '3305' };
const SUFFIXES = ['维吾尔自治区', '壮族自治区', '回族自治区', '自治区', '省', '市'];
const NAMES = new Map();
for (const [code, key] of Object.entries(PROVINCES)) {
  for (const name of [key, NAMES_ZH[code], NAMES_EN[code] ?? key, (NAMES_EN[code] ?? key).replace(/ /g, '_')]) {
    NAMES.set(name, code);
  }
}

/** The province code (two digits) a region text names, or null. */
export function readProvince(text) {
  if (!text || !text.trim()) return null;
  const raw = text.trim();
  const key = raw.toLowerCase();
  if (/^[1-9][0-9]{5}$/.test(raw)) return raw.slice(0, 2) in PROVINCES ? raw.slice(0, 2) : null;
  if (key in RULESET_REGION_KEYS) return RULESET_REGION_KEYS[key].slice(0, 2);
  let name = raw;
  for (const suffix of SUFFIXES) if (name.endsWith(suffix)) name = name.slice(0, -suffix.length);
  return NAMES.get(name) ?? NAMES.get(key) ?? NAMES.get(key.replace(/ /g, '_')) ?? null;
}

function dataYear(factorSet, year) {
  const years = [...factorSet.factors.keys()]
    .map((id) => /^grid\.mee\.national\.(\d{4})$/.exec(id)).filter(Boolean).map((m) => Number(m[1])).sort((a, b) => a - b);
  if (!years.length) return null;
  const earlier = years.filter((y) => y <= year);
  return earlier.length ? earlier.at(-1) : years[0];
}

/** [factor id, level] the set's rule chooses for a region text and a period year. */
export function selectGridFactor(factorSet, regionText, year) {
  const rule = factorSet.document.grid_selection;
  const province = readProvince(regionText);
  const fallback = [factorSet.defaults.grid_ef, 'default'];
  if (!rule || province === null) return fallback;
  const data = dataYear(factorSet, year);
  if (data === null) return fallback;
  const fill = (pattern, values) => pattern.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  const region = Object.entries(rule.regions).find(([, members]) => members.includes(province))?.[0];
  const steps = [
    ['province', fill(rule.series.province, { province: PROVINCES[province], year: data })],
    ...(region ? [['region', fill(rule.series.region, { region, year: data })]] : []),
    ['national', fill(rule.series.national, { year: data })],
  ];
  const found = steps.find(([, id]) => factorSet.factors.has(id));
  if (!found) throw new Error(`no grid factor for ${data}`);
  return [found[1], found[0]];
}
