/** Every deployment must name where alarms go (config.ts requireAlarmTarget); tests synthesize with this. */
export const ALARMS_TO = { alarmEmail: 'alarms@example.com' } as const;
