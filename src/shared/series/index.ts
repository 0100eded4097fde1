export * from './bucket'
export * from './smooth'
export * from './group'
export * from './labels'
