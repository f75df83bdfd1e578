// The script-tag build: the global `Lifeline` is the constructor, with the rest hung on it.
import { Lifeline, LifelineError } from './index'

export default Object.assign(Lifeline, { Lifeline, LifelineError })
