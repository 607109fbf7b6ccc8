// The enrichment logic, kept free of any weft API so it is easy to read and to test;
// server.mjs registers these functions as components.

const COUNTRIES = {
  germany: 'DE', deutschland: 'DE', france: 'FR', 'united kingdom': 'GB', uk: 'GB', 'great britain': 'GB',
  'united states': 'US', usa: 'US', 'u.s.a.': 'US', spain: 'ES', españa: 'ES', italy: 'IT', netherlands: 'NL',
  'the netherlands': 'NL', sweden: 'SE', japan: 'JP', canada: 'CA', brazil: 'BR', india: 'IN', poland: 'PL',
};

const FREE_MAIL = new Set(['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'gmx.de', 'web.de', 'proton.me']);

const DAY_MS = 24 * 60 * 60 * 1000;

/** An error the caller can act on: the message says what was wrong. */
export class EnrichError extends Error {}

const PARTICLES = new Set(['de', 'van', 'von', 'der', 'den', 'da', 'di', 'du', 'la', 'le']);

/** "  ada   LOVELACE " → "Ada Lovelace"; words already in mixed case ("McAllister") and name particles ("de") are kept. */
function tidyName(name) {
  return name.trim().split(/\s+/).map((word, i) => {
    if (word !== word.toLowerCase() && word !== word.toUpperCase()) return word;
    const lower = word.toLowerCase();
    if (i > 0 && PARTICLES.has(lower)) return lower;
    return lower.replace(/(^|['-])(\p{L})/gu, (_, sep, ch) => sep + ch.toUpperCase());
  }).join(' ');
}

function countryCode(country) {
  const text = country.trim();
  if (/^[A-Za-z]{2}$/.test(text)) return text.toUpperCase();
  return COUNTRIES[text.toLowerCase()] ?? null;
}

export function normalize({ customer, as_of }) {
  const email = customer.email.trim().toLowerCase();
  const signup = Date.parse(`${customer.signup_date}T00:00:00Z`);
  const asOf = Date.parse(`${as_of}T00:00:00Z`);
  if (Number.isNaN(signup)) throw new EnrichError(`customer ${customer.id}: signup_date "${customer.signup_date}" is not a date`);
  if (Number.isNaN(asOf)) throw new EnrichError(`as_of "${as_of}" is not a date (expected YYYY-MM-DD)`);
  return {
    id: customer.id,
    name: tidyName(customer.name),
    email,
    email_domain: email.slice(email.lastIndexOf('@') + 1),
    country: countryCode(customer.country),
    plan: customer.plan,
    monthly_spend: customer.monthly_spend,
    tenure_days: Math.max(0, Math.floor((asOf - signup) / DAY_MS)),
  };
}

/** Fails for free-mail and unknown domains: the flow turns that into "no company" (onError: useDefault). */
export function lookupCompany({ email_domain, directory }) {
  if (FREE_MAIL.has(email_domain)) throw new EnrichError(`${email_domain} is a free-mail domain: no company to look up`);
  const entry = directory[email_domain];
  if (!entry) throw new EnrichError(`no company registered for ${email_domain}`);
  return { company: entry.name, industry: entry.industry, employees: entry.employees };
}

const PLAN_POINTS = { free: 0, pro: 10, enterprise: 20 };

/** 0–100 from spend, tenure, plan and company size; gold customers get a personal note. */
export function score({ customer, company }) {
  const parts = [
    ['spend', Math.min(50, Math.floor(customer.monthly_spend / 20))],
    ['tenure', Math.min(20, Math.floor(customer.tenure_days / 30))],
    ['plan', PLAN_POINTS[customer.plan]],
    ['company', company?.company ? (company.employees >= 1000 ? 10 : 5) : 0],
  ];
  const total = Math.min(100, parts.reduce((sum, [, points]) => sum + points, 0));
  const tier = total >= 70 ? 'gold' : total >= 40 ? 'silver' : 'bronze';
  return {
    score: total,
    tier,
    high_value: tier === 'gold',
    reasons: parts.filter(([, points]) => points > 0).map(([name, points]) => `${name} +${points}`),
  };
}

export function outreachPrompt({ customer, company }) {
  const employer = company?.company ? ` at ${company.company} (${company.industry})` : '';
  const months = Math.floor(customer.tenure_days / 30);
  return {
    prompt: `Write a three-sentence thank-you note to ${customer.name}${employer}, ` +
      `${/^[aeiou]/.test(customer.plan) ? 'an' : 'a'} ${customer.plan} customer for ${months} months. Mention one feature of the ${customer.plan} plan ` +
      'they may not have tried yet and offer a 20-minute call with their account manager.',
  };
}
